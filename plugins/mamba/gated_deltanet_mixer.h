#pragma once
// Gated DeltaNet as a mixer (Yang, Kautz and Hatamizadeh, ICLR 2025; the linear-attention
// layer of Qwen3-Next, transformers' Qwen3NextGatedDeltaNet, whose parameter names and
// layout it keeps):
//
//   q, k, v, z = in_proj_qkvz(u)        per key head: [q (Dk), k (Dk), v (r Dv), z (r Dv)], r = H / Hk
//   b, a = in_proj_ba(u)                per key head: [b (r), a (r)]
//   q, k, v = silu(causal_conv1d([q; k; v]))        depthwise over time, width d_conv, no bias
//   q, k = l2norm(q), l2norm(k)         per head, eps 1e-6
//   beta = sigmoid(b)                   [B, T, H]
//   g = -exp(A_log) softplus(a + dt_bias)            [B, T, H], the log decay
//   o = gated_delta_rule(q / sqrt(Dk), k, v, g, beta)  [B, T, H, Dv]; head h reads key head h / r
//   y = rmsnorm(o) norm.weight silu(z)  per head over Dv (the gated RMSNorm, norm first)
//   out = out_proj(y)                   [B, T, H Dv] -> [B, T, d_model]
//
// Hk key heads of Dk channels, H value heads of Dv channels (H a multiple of Hk). Decoding
// keeps the conv state [B, d_conv - 1, 2 Hk Dk + H Dv] and the delta-rule state
// [B, H, Dk, Dv]; a forward_step over any split equals the forward.
#include <strata/components.h>
#include <strata/nn.h>

#include <cstdint>
#include <memory>

namespace strata::mamba_plugin {

struct GatedDeltaNetConfig {
  std::int64_t d_model = 0;
  std::int64_t key_heads = 1;         // Hk
  std::int64_t value_heads = 2;       // H
  std::int64_t key_head_dim = 128;    // Dk
  std::int64_t value_head_dim = 128;  // Dv
  std::int64_t d_conv = 4;
  std::int64_t chunk_size = 32;  // the delta rule's chunk: a speed knob, the result is the same
  double dt_min = 0.001, dt_max = 0.1, dt_init_floor = 1e-4;
  double A_init_min = 1.0, A_init_max = 16.0;  // A = U(min, max) per value head, g = -A softplus(...)
  double norm_eps = 1e-6;
  std::int64_t key_dim() const { return key_heads * key_head_dim; }
  std::int64_t value_dim() const { return value_heads * value_head_dim; }
  std::int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }
  std::int64_t heads_per_key() const { return value_heads / key_heads; }
};

class GatedDeltaNetMixer : public Mixer {
 public:
  GatedDeltaNetMixer(const GatedDeltaNetConfig& config, Generator& gen, DType dtype);

  // u: [B, T, d_model] -> [B, T, d_model], from zero conv and delta-rule states.
  Tensor forward(const Tensor& u, StepContext& ctx) override;
  bool supports_packed_sequences() const override { return true; }
  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override;
  // u: [B, T', d_model], the next T' tokens -> [B, T', d_model]; advances the state.
  Tensor forward_step(const Tensor& u, MixerState& state, StepContext& ctx) override;

  const GatedDeltaNetConfig& config() const { return config_; }

 private:
  struct Mixed {
    Tensor out;         // [B, T, d_model]
    Tensor conv_state;  // [B, d_conv - 1, conv_dim]
    Tensor state;       // [B, H, Dk, Dv]
  };
  // starts: packed documents' sequence starts [B, T] (conv and delta rule restart), or undefined.
  Mixed mix(const Tensor& u, const Tensor& conv_state, const Tensor& state, bool with_conv_state,
            const Tensor& starts = Tensor()) const;

  GatedDeltaNetConfig config_;
  DType dtype_;
  std::shared_ptr<nn::Linear> in_proj_qkvz_;  // [Hk (2 Dk + 2 r Dv), d_model]
  std::shared_ptr<nn::Linear> in_proj_ba_;    // [Hk 2 r, d_model]
  Tensor conv_weight_;                        // [conv_dim, d_conv]
  Tensor dt_bias_;                            // [H]
  Tensor A_log_;                              // [H]
  Tensor norm_weight_;                        // [Dv]
  std::shared_ptr<nn::Linear> out_proj_;      // [d_model, H Dv]
};

}  // namespace strata::mamba_plugin
