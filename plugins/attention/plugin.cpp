// The attention plugin: registers the `attention` mixer, its config keys and the
// checks that tie them together (each a located config error).
#include <strata/plugin.h>

#include <cmath>
#include <string>

#include "attention_mixer.h"
#include "hf_mapping.h"

namespace {

using namespace strata;
using attention_plugin::AttentionConfig;
using attention_plugin::AttentionMixer;

ConfigSchema attention_schema() {
  ConfigSchema s;
  s.integer("n_heads", 4, "query heads Hq").at_least(1);
  s.optional("n_kv_heads", ConfigType::integer,
             "key/value heads Hkv, a divisor of n_heads: n_heads = MHA (the default), 1 = MQA, else GQA")
      .at_least(1);
  s.optional("head_dim", ConfigType::integer, "channels per head d (default d_model / n_heads)").at_least(1);
  s.boolean("causal", true, "query t sees keys <= t (false: bidirectional; not usable in a language model)");
  s.optional("window", ConfigType::integer,
             "sliding window: each query sees the `window` most recent positions, itself included (default: all)")
      .at_least(1);
  s.string("positions", "rope", "positional encoding: rope, or none (as Jamba's attention layers)")
      .one_of({"rope", "none"});
  s.number("rope_theta", 10000.0, "RoPE base theta (Llama 2: 1e4, Mixtral: 1e6)").greater_than(1.0);
  s.number("rope_fraction", 1.0, "fraction of head_dim rotated by RoPE, from the first channel (partial rotary)")
      .greater_than(0.0)
      .at_most(1.0);
  s.boolean("rope_interleaved", false,
            "rotate channel pairs (2c, 2c+1) as original RoPE; default (c, c + rot/2) as Hugging Face Llama");
  attention_plugin::add_rope_scaling_keys(s);
  s.boolean("qkv_bias", false, "biases on the q, k and v projections");
  s.boolean("out_bias", false, "bias on the output projection");
  s.boolean("fused_qkv", false, "one qkv_proj with rows [q; k; v] instead of q_proj, k_proj, v_proj");
  s.boolean("qk_norm", false, "RMSNorm each query and key head over its channels before RoPE (Qwen3, OLMo 2)");
  s.number("qk_norm_eps", 1e-6, "epsilon of the q and k norms").greater_than(0.0);
  s.boolean("output_gate", false,
            "gate the heads' output by sigmoid of a second q_proj half per head before o_proj (Qwen3-Next's gated "
            "attention)");
  s.optional("softmax_scale", ConfigType::number, "scores = scale * q.k (default 1 / sqrt(head_dim))")
      .greater_than(0.0);
  s.string("impl", "flash", "flash: tiled online softmax, O(T) memory; naive: materialises softmax(QK^T)")
      .one_of({"flash", "naive"});
  return s;
}

AttentionConfig attention_config(const Config& config, const BuildContext& ctx) {
  AttentionConfig c;
  c.d_model = ctx.dims.d_model;
  c.n_heads = config.integer("n_heads");
  c.n_kv_heads = config.has("n_kv_heads") ? config.integer("n_kv_heads") : c.n_heads;
  if (c.n_heads % c.n_kv_heads != 0)
    throw config.error("n_kv_heads",
                       "= " + std::to_string(c.n_kv_heads) + " does not divide n_heads = " + std::to_string(c.n_heads),
                       "each key/value head serves the same number of query heads: use a divisor of n_heads");
  if (config.has("head_dim")) {
    c.head_dim = config.integer("head_dim");
  } else {
    if (c.d_model % c.n_heads != 0)
      throw config.error("n_heads",
                         "= " + std::to_string(c.n_heads) + " does not divide d_model = " + std::to_string(c.d_model),
                         "choose n_heads dividing d_model, or set head_dim explicitly");
    c.head_dim = c.d_model / c.n_heads;
  }
  c.causal = config.boolean("causal");
  if (config.has("window")) {
    if (!c.causal)
      throw config.error("window", "needs causal = true", "remove window, or set causal = true");
    c.window = config.integer("window");
  }
  if (config.string("positions") == "rope") {
    RopeOptions r;
    r.theta = config.number("rope_theta");
    // As Hugging Face's partial_rotary_factor: the first int(head_dim * fraction) channels.
    r.rotary_dim = std::int64_t(double(c.head_dim) * config.number("rope_fraction"));
    r.interleaved = config.boolean("rope_interleaved");
    if (r.rotary_dim < 2 || r.rotary_dim % 2 != 0)
      throw config.error(config.has("rope_fraction") ? "rope_fraction" : "positions",
                         "rotates " + std::to_string(r.rotary_dim) + " of head_dim = " + std::to_string(c.head_dim) +
                             " channels; RoPE rotates channel pairs, so it needs an even number >= 2",
                         "choose rope_fraction and head_dim so that head_dim * rope_fraction is even, or use "
                         "positions = \"none\"");
    c.rope_scaling = attention_plugin::read_rope_scaling(config, r.rotary_dim);
    if (!attention_plugin::depends_on_length(c.rope_scaling) && c.rope_scaling.type != "none") {
      const attention_plugin::RopeFrequencies f =
          attention_plugin::rope_frequencies(c.rope_scaling, r.theta, r.rotary_dim, 0);
      r.inv_freq = f.inv_freq;
      r.scale = f.scale;
    }
    c.rope = r;
  } else {
    for (const char* key : {"rope_theta", "rope_fraction", "rope_interleaved", "rope_scaling"})
      if (config.has(key))
        throw config.error(key, "has no effect with positions = \"none\"",
                           "remove it, or set positions = \"rope\"");
    (void)attention_plugin::read_rope_scaling(config, 2);  // any other scaling key is refused as well
  }
  c.qkv_bias = config.boolean("qkv_bias");
  c.out_bias = config.boolean("out_bias");
  c.fused_qkv = config.boolean("fused_qkv");
  c.qk_norm = config.boolean("qk_norm");
  c.qk_norm_eps = config.number("qk_norm_eps");
  if (config.has("qk_norm_eps") && !c.qk_norm)
    throw config.error("qk_norm_eps", "has no effect without qk_norm = true", "remove it, or set qk_norm = true");
  c.output_gate = config.boolean("output_gate");
  if (c.output_gate && c.fused_qkv)
    throw config.error("output_gate", "needs the separate q_proj (its rows hold each head's query and gate)",
                       "remove fused_qkv, or output_gate");
  if (config.has("softmax_scale")) c.softmax_scale = config.number("softmax_scale");
  c.impl = config.string("impl") == "naive" ? AttentionImpl::naive : AttentionImpl::flash;
  return c;
}

std::unique_ptr<AttentionMixer> make_attention(const Config& config, const BuildContext& ctx) {
  return std::make_unique<AttentionMixer>(attention_config(config, ctx), *ctx.gen, ctx.dtype);
}

// Per token at `context` tokens of history: the projections, and q.k plus p.v over the
// keys it sees (its own included, at most the window).
ComponentCost attention_cost(const Config& config, const BuildContext& ctx, const CostQuery& query) {
  const AttentionConfig c = attention_config(config, ctx);
  const std::int64_t q_width = c.n_heads * c.head_dim, kv_width = c.n_kv_heads * c.head_dim;
  const std::int64_t gate_width = c.output_gate ? q_width : 0;
  const std::int64_t projection_macs = c.d_model * (q_width + gate_width + 2 * kv_width) + q_width * c.d_model;
  const std::int64_t cached = c.window > 0 ? std::min(query.context, c.window) : query.context;
  const std::int64_t keys = c.window > 0 ? std::min(query.context + 1, c.window) : query.context + 1;
  ComponentCost cost;
  cost.params = projection_macs + (c.qkv_bias ? q_width + gate_width + 2 * kv_width : 0) + (c.out_bias ? c.d_model : 0) +
                (c.qk_norm ? 2 * c.head_dim : 0);
  cost.active_params = cost.params;
  cost.flops_per_token = 2.0 * double(projection_macs) + 4.0 * double(q_width) * double(keys);
  cost.state_elements = 2 * kv_width * cached;
  // Kept for backward per token: q and k after RoPE, v, the output and its log-sum-exp
  // (the flash kernel recomputes the probabilities); naive also keeps them, T per head.
  const std::int64_t T = query.context;
  cost.activation_elements = T * (2 * q_width + 2 * kv_width + c.n_heads + 2 * gate_width);
  if (c.impl == AttentionImpl::naive) {
    cost.activation_elements += c.n_heads * T * T;
    cost.backward_elements = 2 * c.n_heads * T * T;
  }
  return cost;
}

void register_components(PluginRegistrar& registrar) {
  registrar.add<AttentionMixer>("attention", "multi-head / grouped-query attention with RoPE and a KV cache",
                                attention_schema(), &make_attention, &attention_cost);
  attention_plugin::register_hf_mappings(registrar);
}

}  // namespace

STRATA_PLUGIN("attention", "0.1.0", register_components)
