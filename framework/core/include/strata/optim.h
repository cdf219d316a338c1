#pragma once
// Optimisation: AdamW with parameter groups, learning-rate schedules, gradient clipping.
#include <cstdint>
#include <string>
#include <vector>

#include "strata/module.h"
#include "strata/tensor.h"

namespace strata {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;  // applied only to parameters with weight_decay = true
};

class AdamW {
 public:
  AdamW(std::vector<NamedParameter> params, AdamWOptions options);
  // One update with learning rate `lr` from the parameters' current gradients (parameters
  // without a gradient are left alone). Runs without recording.
  void step(double lr);
  std::int64_t steps_taken() const { return step_; }
  const std::vector<NamedParameter>& params() const { return params_; }
  // Moment buffers, parallel to params() (for checkpoints).
  const std::vector<Tensor>& first_moments() const { return m_; }
  const std::vector<Tensor>& second_moments() const { return v_; }
  // Restores a saved state (moments parallel to params(), same shapes); ValueError otherwise.
  void load_state(std::int64_t steps, const std::vector<Tensor>& m, const std::vector<Tensor>& v);

 private:
  std::vector<NamedParameter> params_;
  std::vector<Tensor> m_, v_;
  AdamWOptions options_;
  std::int64_t step_ = 0;
};

enum class LrDecay { cosine, linear, constant };
LrDecay parse_lr_decay(const std::string& name);  // "cosine" | "linear" | "constant"

// Linear warmup from 0 to `peak` over warmup_steps, then decay to peak * min_ratio at
// the last step, total_steps - 1 (cosine or linear), or constant.
struct LrSchedule {
  double peak = 1e-3;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  double min_ratio = 0.1;
  LrDecay decay = LrDecay::cosine;
  // Learning rate for 0-based step `step`.
  double at(std::int64_t step) const;
};

// Scales all gradients so that their global L2 norm is at most max_norm (no-op when
// max_norm <= 0 or the norm is already smaller). Returns the norm before clipping.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace strata
