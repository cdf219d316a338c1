#pragma once
// The Mamba-1 block as a mixer (state-spaces/mamba `Mamba`, Hugging Face `MambaMixer`;
// with inner_norms, Hugging Face `JambaMambaMixer`):
//
//   x, z = in_proj(u)                          u: [B, T, d_model] -> x, z: [B, T, E]
//   x = silu(causal_conv1d(x))                 depthwise over time, width d_conv
//   dt, B, C = x_proj(x)                       [B, T, R], [B, T, N], [B, T, N]
//   (dt, B, C = rmsnorm(dt), rmsnorm(B), rmsnorm(C)    with inner_norms, as Jamba)
//   y = selective_scan(u = x, delta = dt W_dt^T, A = -exp(A_log), B, C, D, z,
//                      delta_bias = dt_proj.bias, softplus)
//   out = out_proj(y)                          [B, T, E] -> [B, T, d_model]
//
// E = d_inner, N = d_state, R = dt_rank. Decoding keeps the conv and SSM states
// (mamba_state.h); a forward_step over any split of a sequence equals the forward.
#include <strata/components.h>
#include <strata/nn.h>

#include <cstdint>
#include <memory>
#include <utility>

namespace strata::mamba_plugin {

struct MambaConfig {
  std::int64_t d_model = 0;
  std::int64_t d_inner = 0;   // E
  std::int64_t d_state = 16;  // N
  std::int64_t d_conv = 4;
  std::int64_t dt_rank = 0;   // R
  double dt_min = 0.001, dt_max = 0.1, dt_init_floor = 1e-4;
  bool dt_init_random = true;  // false: dt_proj.weight = dt_scale / sqrt(R) everywhere
  double dt_scale = 1.0;
  bool conv_bias = true;
  bool proj_bias = false;
  bool inner_norms = false;
  double norm_eps = 1e-6;
  // false: dt, B and C are learned constants ([R + 2N], parameter "dbc") instead of
  // x_proj(x): a linear time-invariant SSM, the non-selective baseline of the Mamba paper.
  bool selective = true;
  bool dt_telemetry = false;  // training steps report the mean step size per token id (dt.<id>)
};

class MambaMixer : public Mixer {
 public:
  MambaMixer(const MambaConfig& config, Generator& gen, DType dtype);

  // u: [B, T, d_model] -> [B, T, d_model], from zero conv and SSM states.
  Tensor forward(const Tensor& u, StepContext& ctx) override;
  bool supports_packed_sequences() const override { return true; }
  // With dt_telemetry: "dt", the mean step size per token id.
  std::vector<MetricSeries> metric_series() const override;

  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override;
  // u: [B, T', d_model], the next T' tokens -> [B, T', d_model]; advances the state.
  Tensor forward_step(const Tensor& u, MixerState& state, StepContext& ctx) override;

  const MambaConfig& config() const { return config_; }

 private:
  struct Mixed {
    Tensor out;         // [B, T, d_model]
    Tensor conv_state;  // [B, d_conv - 1, E]
    Tensor ssm_state;   // [B, E, N]
  };
  // u: [B, T, d_model]; conv_state: [B, d_conv-1, E], ssm_state: [B, E, N], or undefined (zeros);
  // starts: packed documents' sequence starts [B, T] (conv and scan restart), or undefined.
  Mixed mix(const Tensor& u, const Tensor& conv_state, const Tensor& ssm_state, bool with_conv_state,
            const Tensor& starts = Tensor(), StepContext* telemetry = nullptr) const;
  // delta: [B, T, E] before the bias and softplus; adds dt.<token id> = mean softplus step.
  void report_step_sizes(const Tensor& delta, StepContext& ctx) const;

  MambaConfig config_;
  DType dtype_;
  std::shared_ptr<nn::Linear> in_proj_;   // [2E, d_model], rows [x; z]
  Tensor conv_weight_, conv_bias_;        // the child conv1d's weight [E, d_conv] and bias [E]
  std::shared_ptr<nn::Linear> x_proj_;    // [R + 2N, E], rows [dt; B; C] (selective)
  Tensor dbc_;                            // [R + 2N], the constant [dt; B; C] (not selective)
  std::shared_ptr<nn::Linear> dt_proj_;   // [E, R] and bias [E]
  Tensor A_log_;                          // [E, N]
  Tensor D_;                              // [E]
  std::shared_ptr<nn::Linear> out_proj_;  // [d_model, E]
  std::shared_ptr<nn::Norm> dt_norm_, b_norm_, c_norm_;  // with inner_norms
};

}  // namespace strata::mamba_plugin
