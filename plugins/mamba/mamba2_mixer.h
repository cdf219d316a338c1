#pragma once
// The Mamba-2 block as a mixer (state-spaces/mamba `Mamba2`, Hugging Face `Mamba2Mixer`):
//
//   z, xBC, dt = in_proj(u)                 u: [B, T, d_model] -> [B, T, E], [B, T, E + 2GN], [B, T, H]
//   xBC = silu(causal_conv1d(xBC))          depthwise over time, width d_conv
//   x, B, C = xBC                           [B, T, H, P], [B, T, G, N], [B, T, G, N]
//   dt = softplus(dt + dt_bias)             [B, T, H], clamped to [dt_limit_min, dt_limit_max]
//   y = ssd(x, dt, A = -exp(A_log), B, C) + D x     (D per head)
//   y = rmsnorm_per_group(y * silu(z)) * norm.weight   (the gated RMSNorm, gate first)
//   out = out_proj(y)                       [B, T, E] -> [B, T, d_model]
//
// E = d_inner = H P (heads of head_dim P), N = d_state, G = n_groups (B and C shared by
// H / G heads; the norm's groups too). Decoding keeps the conv state [B, d_conv - 1, E + 2GN]
// and the SSM state [B, H, P, N]; a forward_step over any split equals the forward.
#include <strata/components.h>
#include <strata/nn.h>

#include <cstdint>
#include <limits>
#include <memory>

namespace strata::mamba_plugin {

struct Mamba2Config {
  std::int64_t d_model = 0;
  std::int64_t d_inner = 0;    // E = heads * head_dim
  std::int64_t head_dim = 64;  // P
  std::int64_t d_state = 128;  // N
  std::int64_t n_groups = 1;   // G
  std::int64_t d_conv = 4;
  std::int64_t chunk_size = 64;  // the SSD's chunk: a speed knob, the result is the same
  double dt_min = 0.001, dt_max = 0.1, dt_init_floor = 1e-4;
  double A_init_min = 1.0, A_init_max = 16.0;  // A = -U(min, max) per head
  // dt is clamped to [dt_limit_min, dt_limit_max] after the softplus (mamba_ssm's dt_limit,
  // transformers' time_step_limit); the defaults clamp nothing.
  double dt_limit_min = 0.0, dt_limit_max = std::numeric_limits<double>::infinity();
  bool conv_bias = true;
  bool proj_bias = false;
  double norm_eps = 1e-5;
  bool d_per_channel = false;  // D: [d_inner] (mamba_ssm's D_has_hdim) instead of [heads]
  bool norm_before_gate = false;  // gated RMSNorm: rmsnorm(y) silu(z) instead of rmsnorm(y silu(z))
  std::int64_t heads() const { return d_inner / head_dim; }
  std::int64_t conv_dim() const { return d_inner + 2 * n_groups * d_state; }
};

class Mamba2Mixer : public Mixer {
 public:
  Mamba2Mixer(const Mamba2Config& config, Generator& gen, DType dtype);

  // u: [B, T, d_model] -> [B, T, d_model], from zero conv and SSM states.
  Tensor forward(const Tensor& u, StepContext& ctx) override;
  bool supports_packed_sequences() const override { return true; }
  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override;
  // u: [B, T', d_model], the next T' tokens -> [B, T', d_model]; advances the state.
  Tensor forward_step(const Tensor& u, MixerState& state, StepContext& ctx) override;

  const Mamba2Config& config() const { return config_; }

 private:
  struct Mixed {
    Tensor out;         // [B, T, d_model]
    Tensor conv_state;  // [B, d_conv - 1, E + 2GN]
    Tensor ssm_state;   // [B, H, P, N]
  };
  // starts: packed documents' sequence starts [B, T] (conv and SSD restart), or undefined.
  Mixed mix(const Tensor& u, const Tensor& conv_state, const Tensor& ssm_state, bool with_conv_state,
            const Tensor& starts = Tensor()) const;

  Mamba2Config config_;
  DType dtype_;
  std::shared_ptr<nn::Linear> in_proj_;   // [2E + 2GN + H, d_model], rows [z; x; B; C; dt]
  Tensor conv_weight_, conv_bias_;        // [E + 2GN, d_conv], [E + 2GN]
  Tensor dt_bias_;                        // [H]
  Tensor A_log_;                          // [H]
  Tensor D_;                              // [H], or [E] with d_per_channel
  Tensor norm_weight_;                    // [E]
  std::shared_ptr<nn::Linear> out_proj_;  // [d_model, E]
};

}  // namespace strata::mamba_plugin
