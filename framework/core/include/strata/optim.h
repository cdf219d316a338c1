#pragma once
// Optimisation: AdamW (the built-in optimizer, "adamw"), learning-rate schedules,
// gradient clipping.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "strata/components.h"
#include "strata/module.h"
#include "strata/tensor.h"

namespace strata {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;  // applied only to parameters with weight_decay = true
};

// AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW computes it, with bias
// correction and decoupled weight decay. Its state is "m.<param>" and "v.<param>".
class AdamW : public Optimizer {
 public:
  explicit AdamW(AdamWOptions options) : options_(options) {}
  AdamW(std::vector<NamedParameter> params, AdamWOptions options);

  std::vector<std::pair<std::string, Tensor>> state() const override;
  // Moment buffers, parallel to params().
  const std::vector<Tensor>& first_moments() const { return m_; }
  const std::vector<Tensor>& second_moments() const { return v_; }

 protected:
  void init_state() override;
  void update(double lr, std::int64_t step) override;

 private:
  std::vector<Tensor> m_, v_;
  AdamWOptions options_;
};

// The schema of the built-in optimizer "adamw" and its options from a validated table.
ConfigSchema adamw_schema();
AdamWOptions adamw_options(const Config& config);

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
