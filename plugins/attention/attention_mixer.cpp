#include "attention_mixer.h"

#include <strata/ops.h>

#include <strata/error.h>
#include <strata/packing.h>

#include "kv_cache.h"

namespace strata::attention_plugin {

AttentionMixer::AttentionMixer(const AttentionConfig& config, Generator& gen, DType dtype)
    : config_(config), dtype_(dtype) {
  const std::int64_t D = config.d_model, d = config.head_dim;
  const std::int64_t q_width = config.n_heads * d, kv_width = config.n_kv_heads * d;
  if (config.fused_qkv) {
    qkv_proj_ = register_module("qkv_proj",
                                std::make_shared<nn::Linear>(D, q_width + 2 * kv_width, config.qkv_bias, gen, dtype));
  } else {
    const std::int64_t q_rows = config.output_gate ? 2 * q_width : q_width;
    q_proj_ = register_module("q_proj", std::make_shared<nn::Linear>(D, q_rows, config.qkv_bias, gen, dtype));
    k_proj_ = register_module("k_proj", std::make_shared<nn::Linear>(D, kv_width, config.qkv_bias, gen, dtype));
    v_proj_ = register_module("v_proj", std::make_shared<nn::Linear>(D, kv_width, config.qkv_bias, gen, dtype));
  }
  o_proj_ = register_module("o_proj", std::make_shared<nn::Linear>(q_width, D, config.out_bias, gen, dtype));
  if (config.qk_norm) {
    q_norm_ = register_module("q_norm", std::make_shared<nn::Norm>(nn::NormKind::rmsnorm, d, config.qk_norm_eps, dtype));
    k_norm_ = register_module("k_norm", std::make_shared<nn::Norm>(nn::NormKind::rmsnorm, d, config.qk_norm_eps, dtype));
  }
}

AttentionOptions AttentionMixer::attention_options() const {
  AttentionOptions o;
  o.causal = config_.causal;
  o.window = config_.window;
  o.scale = config_.softmax_scale;
  o.impl = config_.impl;
  return o;
}

AttentionMixer::Qkv AttentionMixer::project(const Tensor& x, std::int64_t position, const Tensor& starts) const {
  const std::int64_t B = x.size(0), T = x.size(1), d = config_.head_dim;
  const std::int64_t Hq = config_.n_heads, Hkv = config_.n_kv_heads;
  Qkv p;
  if (qkv_proj_) {
    // [B, T, Hq + 2 Hkv, d], then views of its head ranges (read in place by attention).
    const Tensor heads = reshape(qkv_proj_->forward(x), {B, T, Hq + 2 * Hkv, d});
    const std::vector<Tensor> parts = split(heads, {Hq, Hkv, Hkv}, 2);
    p = {parts[0], parts[1], parts[2]};
  } else if (config_.output_gate) {
    const std::vector<Tensor> q_gate = split(reshape(q_proj_->forward(x), {B, T, Hq, 2 * d}), {d, d}, 3);
    p.q = q_gate[0];
    p.gate = q_gate[1];
    p.k = reshape(k_proj_->forward(x), {B, T, Hkv, d});
    p.v = reshape(v_proj_->forward(x), {B, T, Hkv, d});
  } else {
    p.q = reshape(q_proj_->forward(x), {B, T, Hq, d});
    p.k = reshape(k_proj_->forward(x), {B, T, Hkv, d});
    p.v = reshape(v_proj_->forward(x), {B, T, Hkv, d});
  }
  if (q_norm_) {  // per head, over its d channels: [B, T, H, d]
    p.q = q_norm_->forward(p.q);
    p.k = k_norm_->forward(p.k);
  }
  if (config_.rope) {
    RopeOptions r = *config_.rope;
    r.position_offset = position;
    if (starts.defined()) r.positions = positions_in_sequence(starts);  // each document from 0
    if (depends_on_length(config_.rope_scaling)) {  // as transformers: by this forward's last position
      const RopeFrequencies f = rope_frequencies(config_.rope_scaling, r.theta, r.rotary_dim, position + T);
      r.inv_freq = f.inv_freq;
      r.scale = f.scale;
    }
    p.q = rope(p.q, r);
    p.k = rope(p.k, r);
  }
  return p;
}

Tensor AttentionMixer::output(const Tensor& y, const Tensor& gate) const {
  const Tensor gated = gate.defined() ? mul(y, sigmoid(gate)) : y;
  return o_proj_->forward(reshape(gated, {y.size(0), y.size(1), config_.n_heads * config_.head_dim}));
}

Tensor AttentionMixer::forward(const Tensor& x, StepContext& ctx) {
  const Tensor& starts = ctx.sequence_starts();
  const Qkv p = project(x, 0, starts);
  AttentionOptions o = attention_options();
  o.sequence_starts = starts;
  return output(strata::attention(p.q, p.k, p.v, o), p.gate);
}

bool AttentionMixer::supports_packed_sequences() const {
  // Length-dependent RoPE scaling picks its frequencies by the forward's length, which a
  // packed row does not share with its documents.
  return config_.causal && !depends_on_length(config_.rope_scaling);
}

std::unique_ptr<MixerState> AttentionMixer::make_state(std::int64_t batch) const {
  if (!config_.causal) return nullptr;
  return std::make_unique<KvCache>(batch, config_.n_kv_heads, config_.head_dim, config_.window, dtype_, device());
}

Tensor AttentionMixer::forward_step(const Tensor& x, MixerState& state, StepContext&) {
  auto* cache = dynamic_cast<KvCache*>(&state);
  if (!cache) throw ValueError("attention: forward_step needs the state made by this mixer's make_state");
  const Qkv p = project(x, cache->position(), Tensor());
  cache->append(p.k, p.v);
  // The new queries are the last T' of the cached positions (the default query_offset).
  return output(strata::attention(p.q, cache->keys(), cache->values(), attention_options()), p.gate);
}

}  // namespace strata::attention_plugin
