#pragma once
// Causal multi-head attention as a mixer: MHA, grouped-query (GQA) and multi-query (MQA)
// attention, RoPE or no positional encoding, optional sliding window, and the projection
// options of published models (biases, fused qkv, softmax scale).
//
//   q = x Wq^T [+ bq]: [B, T, Hq, d];  k, v = x Wk^T, x Wv^T [+ b]: [B, T, Hkv, d]
//   q, k = rope(q), rope(k)               (positions = "rope")
//   y = attention(q, k, v) o_proj          [B, T, Hq * d] -> [B, T, D]
//   (output_gate: q_proj gives each head's query and gate, y = (attention(q, k, v) sigmoid(gate)) o_proj)
//
// Parameter names follow Hugging Face Llama (q_proj, k_proj, v_proj, o_proj), or qkv_proj
// with rows [q; k; v] when fused. Decoding keeps a KV cache (kv_cache.h).
#include <strata/components.h>
#include <strata/nn.h>
#include <strata/ops/attention.h>
#include <strata/ops/rope.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "rope_scaling.h"

namespace strata::attention_plugin {

struct AttentionConfig {
  std::int64_t d_model = 0;
  std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  bool causal = true;
  std::int64_t window = 0;                // 0: none
  std::optional<RopeOptions> rope;        // unset: no positional encoding
  RopeScaling rope_scaling;               // type "none": plain RoPE (rope_scaling.h)
  bool qkv_bias = false, out_bias = false;
  bool fused_qkv = false;
  // RMSNorm of each query and key head over its channels, before RoPE (Qwen3, OLMo 2);
  // weights [head_dim] shared by the heads, q_norm.weight and k_norm.weight.
  bool qk_norm = false;
  double qk_norm_eps = 1e-6;
  // Qwen3-Next's gated attention: q_proj's rows hold, per head, the query and a gate
  // [Hq (d + d), D]; the heads' output is multiplied by sigmoid(gate) before o_proj.
  bool output_gate = false;
  double softmax_scale = 0;               // 0: 1 / sqrt(head_dim)
  AttentionImpl impl = AttentionImpl::flash;
};

class AttentionMixer : public Mixer {
 public:
  AttentionMixer(const AttentionConfig& config, Generator& gen, DType dtype);

  // x: [B, T, D] -> [B, T, D]
  Tensor forward(const Tensor& x, StepContext& ctx) override;
  bool causal() const override { return config_.causal; }
  bool supports_packed_sequences() const override;

  // A KV cache (null for non-causal attention, which cannot decode token by token).
  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override;
  // x: [B, T', D], the next T' tokens -> [B, T', D]
  Tensor forward_step(const Tensor& x, MixerState& state, StepContext& ctx) override;

  const AttentionConfig& config() const { return config_; }

 private:
  struct Qkv {
    Tensor q;  // [B, T, Hq, d]
    Tensor k;  // [B, T, Hkv, d]
    Tensor v;     // [B, T, Hkv, d]
    Tensor gate;  // [B, T, Hq, d] with output_gate, else undefined
  };
  // x: [B, T, D] -> q, k, v with RoPE applied at positions position .. position + T - 1
  // starts: the packed documents' sequence starts [B, T] (RoPE positions restart), or undefined.
  Qkv project(const Tensor& x, std::int64_t position, const Tensor& starts) const;
  // y: [B, T, Hq, d], gate: [B, T, Hq, d] or undefined -> [B, T, D]
  Tensor output(const Tensor& y, const Tensor& gate) const;
  AttentionOptions attention_options() const;

  AttentionConfig config_;
  DType dtype_;
  std::shared_ptr<nn::Linear> qkv_proj_;  // fused: [(Hq + 2 Hkv) d, D]
  std::shared_ptr<nn::Linear> q_proj_, k_proj_, v_proj_;  // q_proj: [Hq d, D], or [Hq 2d, D] with output_gate
  std::shared_ptr<nn::Linear> o_proj_;  // [D, Hq d]
  std::shared_ptr<nn::Norm> q_norm_, k_norm_;  // qk_norm: weights [d]
};

}  // namespace strata::attention_plugin
