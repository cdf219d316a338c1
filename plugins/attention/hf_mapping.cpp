// Llama, Mistral, Qwen2, Qwen3 and Mixtral as Hugging Face writes them, and the attention mixer's
// config.json keys and tensor names (transformers' LlamaAttention: q_proj, k_proj, v_proj,
// o_proj, which are strata's names too) in those and in Jamba.
#include "hf_mapping.h"

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strata::attention_plugin {

namespace {



constexpr const char* kLlama = "LlamaForCausalLM";
constexpr const char* kMistral = "MistralForCausalLM";
constexpr const char* kQwen2 = "Qwen2ForCausalLM";
constexpr const char* kQwen3 = "Qwen3ForCausalLM";
constexpr const char* kMixtral = "MixtralForCausalLM";
constexpr const char* kQwen3Moe = "Qwen3MoeForCausalLM";

// Qwen3-MoE: Qwen3's attention and an MoE ffn in every layer. Its layouts with dense layers
// (decoder_sparse_step > 1, mlp_only_layers) are refused: strata imports one ffn for all.
hf::ArchitectureMapping qwen3_moe_architecture(hf::ArchitectureMapping a) {
  const auto base = a.import_config;
  a.import_config = [base](const hf::ConfigView& c, hf::TomlWriter& model) {
    base(c, model);
    c.require(c.integer_or("decoder_sparse_step", 1) == 1, "decoder_sparse_step",
              "is not 1: some layers then have a dense mlp, and strata imports an MoE in every layer");
    c.require(!c.present("mlp_only_layers") || c.numbers("mlp_only_layers").empty(), "mlp_only_layers",
              "lists dense layers; strata imports an MoE in every layer");
    c.irrelevant("intermediate_size", "the dense mlp's width, used only by mlp_only_layers (none here)");
  };
  const auto base_export = a.export_config;
  a.export_config = [base_export](const Config& model, hf::ConfigWriter& out) {
    base_export(model, out);
    out.set("decoder_sparse_step", 1);
  };
  return a;
}
constexpr const char* kJamba = "JambaForCausalLM";
constexpr const char* kBamba = "BambaForCausalLM";
constexpr const char* kGranite = "GraniteMoeHybridForCausalLM";
constexpr const char* kQwen3Next = "Qwen3NextForCausalLM";

// The decoder layout the Llama family shares (Llama, Mistral, Qwen2, Mixtral); `ffn` is the
// type of their feed-forward. Export tries them in registration order and writes the first
// that can express the model (a window makes it Mistral, q/k/v biases without an o bias Qwen2).
hf::ArchitectureMapping llama_family(const char* name, const char* model_type, const char* ffn, const char* ffn_module,
                                     double default_eps) {
  hf::ArchitectureMapping a;
  a.name = name;
  a.model_type = model_type;
  a.mixers = {"attention"};
  a.ffns = {ffn};
  a.modules = {{"attention", "self_attn"}, {ffn, ffn_module}};
  a.embedding = "model.embed_tokens.weight";
  a.final_norm = "model.norm.weight";
  a.layer_prefix = "model.layers.";
  a.mixer_norm = "input_layernorm";
  a.ffn_norm = "post_attention_layernorm";
  a.norm_eps_key = "rms_norm_eps";
  a.norm_eps_default = default_eps;
  a.import_config = [](const hf::ConfigView& c, hf::TomlWriter&) {
    c.irrelevant("pretraining_tp", "splits the same products into slices (an emulation of tensor parallelism): "
                                   "float reassociation only");
  };
  a.export_config = [](const Config&, hf::ConfigWriter& out) {
    if (!out.has("max_position_embeddings")) out.set("max_position_embeddings", 4096);  // unless RoPE scaling set it
  };
  return a;
}

// RoPE's base and scaling. transformers 4 writes rope_theta at the top level and the scaling
// in rope_scaling ({"rope_type" or "type": ..., "factor": ..., ...}); transformers 5 both in
// rope_parameters. Every field is honoured or the import stops (the driver refuses a key
// nobody read, e.g. partial_rotary_factor).
void import_rope(const hf::ConfigView& c, hf::TomlWriter& out) {
  c.require(!(c.present("rope_parameters") && c.present("rope_scaling")), "rope_scaling",
            "is set alongside rope_parameters; keep one (transformers 5 reads rope_parameters)");
  std::optional<hf::ConfigView> p;
  double theta = c.number_or("rope_theta", 10000.0);
  if (c.present("rope_parameters")) {
    p = c.object("rope_parameters");
    theta = p->number_or("rope_theta", theta);
  } else if (c.present("rope_scaling")) {
    p = c.object("rope_scaling");
  }
  out.set("rope_theta", theta);
  std::string type = "default";
  if (p) type = p->present("rope_type") ? p->string("rope_type") : p->string_or("type", "default");
  const bool uses_max = type == "dynamic" || type == "yarn" || type == "longrope";
  if (!uses_max)
    c.irrelevant("max_position_embeddings",
                 "the context trained for: unscaled, linear and llama3 RoPE compute positions beyond it the same way");
  if (type == "default") return;
  if (type != "linear" && type != "dynamic" && type != "yarn" && type != "llama3" && type != "longrope")
    p->refuse(p->present("rope_type") ? "rope_type" : "type",
              "is \"" + type + "\"; strata's RoPE scales as linear, dynamic, yarn, llama3 or longrope");
  out.set("rope_scaling", type);
  if (p->present("factor")) out.set("rope_factor", p->number("factor"));
  // Phi-3 writes original_max_position_embeddings at the top level too (transformers 4 reads
  // longrope's threshold there); where both are given they must agree.
  const char* original = "original_max_position_embeddings";
  if (p->present(original)) {
    out.set("rope_original_context", p->integer(original));
    if (c.present(original))
      c.require(c.integer(original) == p->integer(original), original, "differs from the one in the RoPE scaling");
  } else if (type != "linear" && type != "dynamic" && c.present(original)) {
    out.set("rope_original_context", c.integer(original));
  }
  if (uses_max) out.set("rope_max_context", c.integer("max_position_embeddings"));
  const auto number = [&](const char* hf_key, const char* key) {
    if (p->present(hf_key)) out.set(key, p->number(hf_key));
  };
  if (type == "llama3") {
    number("low_freq_factor", "rope_low_freq_factor");
    number("high_freq_factor", "rope_high_freq_factor");
  }
  if (type == "yarn") {
    number("beta_fast", "rope_beta_fast");
    number("beta_slow", "rope_beta_slow");
    number("mscale", "rope_mscale");
    number("mscale_all_dim", "rope_mscale_all_dim");
    if (p->present("truncate")) out.set("rope_truncate", p->boolean_or("truncate", true));
  }
  if (type == "yarn" || type == "longrope") number("attention_factor", "rope_attention_factor");
  if (type == "longrope")
    for (const auto& [hf_key, key] : {std::pair{"short_factor", "rope_short_factor"}, std::pair{"long_factor", "rope_long_factor"}})
      out.set_raw(key, hf::TomlWriter::toml_numbers(p->numbers(hf_key)));
}

// The same, written in transformers 4's layout (which transformers 5 reads too).
void export_rope(const Config& a, hf::ConfigWriter& out) {
  out.set("rope_theta", a.number("rope_theta"));
  const std::string type = a.string("rope_scaling");
  if (type == "none") return;
  hf::ConfigWriter s = out.object("rope_scaling");
  s.set("rope_type", type);
  if (a.has("rope_factor")) s.set("factor", a.number("rope_factor"));
  if (a.has("rope_original_context")) s.set("original_max_position_embeddings", a.integer("rope_original_context"));
  if (a.has("rope_max_context")) out.set("max_position_embeddings", a.integer("rope_max_context"));
  if (type == "llama3") {
    s.set("low_freq_factor", a.number("rope_low_freq_factor"));
    s.set("high_freq_factor", a.number("rope_high_freq_factor"));
  }
  if (type == "yarn") {
    s.set("beta_fast", a.number("rope_beta_fast"));
    s.set("beta_slow", a.number("rope_beta_slow"));
    s.set("truncate", a.boolean("rope_truncate"));
    if (a.has("rope_mscale")) s.set("mscale", a.number("rope_mscale"));
    if (a.has("rope_mscale_all_dim")) s.set("mscale_all_dim", a.number("rope_mscale_all_dim"));
  }
  if ((type == "yarn" || type == "longrope") && a.has("rope_attention_factor"))
    s.set("attention_factor", a.number("rope_attention_factor"));
  if (type == "longrope") {
    s.set_numbers("short_factor", a.numbers("rope_short_factor"));
    s.set_numbers("long_factor", a.numbers("rope_long_factor"));
  }
}

// How an architecture's config.json describes its attention.
struct AttentionDialect {
  std::vector<std::string> architectures;
  bool rope = true;  // false: Jamba's attention has no positional encoding
  // Llama's attention_bias sets the q, k, v and o biases together; Qwen2 has q, k and v
  // biases and none on o, and no key for them.
  bool qkv_bias_only = false;
  // sliding_window: refused (Llama, Jamba), the window of every layer (Mistral, Mixtral), or
  // Qwen2's and Qwen3's use_sliding_window with per-layer layer_types (only all-full is imported).
  enum class Window { refused, every_layer, qwen2 } window = Window::refused;
  bool qk_norm = false;  // Qwen3: RMSNorm of each q and k head (q_norm, k_norm) with rms_norm_eps
  // The fraction of each head RoPE rotates: Bamba's is fixed at 0.5 (partial_rotary_factor,
  // which transformers sets whatever config.json says); 1 elsewhere. Qwen3-Next reads
  // partial_rotary_factor (rope_fraction_read), with rope_fraction its default.
  double rope_fraction = 1.0;
  bool rope_fraction_read = false;
  // Qwen3-Next: the sigmoid output gate (output_gate), and q and k norms that scale by
  // 1 + weight (their weights offset by 1 on import and export).
  bool output_gate = false;
  double qk_norm_offset = 0.0;
  // Granite: the scores' scale is attention_multiplier (default 1), not 1 / sqrt(head_dim).
  const char* scale_key = nullptr;
};

void import_window(const AttentionDialect& d, const hf::ConfigView& c, hf::TomlWriter& out) {
  switch (d.window) {
    case AttentionDialect::Window::refused:
      c.require(!c.present("sliding_window"), "sliding_window",
                "is set; strata imports " + c.architecture() + " with full attention (sliding_window = null)");
      break;
    case AttentionDialect::Window::every_layer:  // a query sees the sliding_window most recent keys, its own included
      if (c.present("sliding_window")) out.set("window", c.integer("sliding_window"));
      break;
    case AttentionDialect::Window::qwen2:
      c.require(!c.boolean_or("use_sliding_window", false), "use_sliding_window",
                "is true: Qwen2 then windows the layers from max_window_layers on, and strata imports one "
                "attention configuration for every layer");
      if (c.present("layer_types"))
        for (const std::string& t : c.strings("layer_types"))
          c.require(t == "full_attention", "layer_types", "holds \"" + t + "\"; strata imports full attention only");
      c.irrelevant("sliding_window", "used only with use_sliding_window = true");
      c.irrelevant("max_window_layers", "used only with use_sliding_window = true");
      break;
  }
}

hf::ComponentMapping attention_mapping(const AttentionDialect& d) {
  hf::ComponentMapping m;
  m.kind = ComponentKind::mixer;
  m.type = "attention";
  m.architectures = d.architectures;
  m.import_config = [d](const hf::ConfigView& c, hf::TomlWriter& out) {
    const std::int64_t heads = c.integer("num_attention_heads");
    out.set("n_heads", heads);
    out.set("n_kv_heads", c.integer_or("num_key_value_heads", heads));
    if (c.present("head_dim")) out.set("head_dim", c.integer("head_dim"));
    import_window(d, c, out);
    if (d.rope) {
      out.set("positions", "rope");
      import_rope(c, out);
      if (d.rope_fraction != 1.0 || d.rope_fraction_read) {
        const char* key = "partial_rotary_factor";
        const bool nested = c.present("rope_parameters") && c.object("rope_parameters").present(key);
        const double f = nested ? c.object("rope_parameters").number(key) : c.number_or(key, d.rope_fraction);
        if (!d.rope_fraction_read)
          c.require(f == d.rope_fraction, key,
                    "is " + std::to_string(f) + "; " + c.architecture() + "'s attention rotates " +
                        std::to_string(d.rope_fraction) + " of each head whatever config.json says");
        if (f != 1.0) out.set("rope_fraction", f);
      }
    } else {
      out.set("positions", "none");
    }
    if (d.qkv_bias_only) {
      out.set("qkv_bias", true);
    } else if (c.boolean_or("attention_bias", false)) {
      out.set("qkv_bias", true);
      out.set("out_bias", true);
    }
    if (d.qk_norm) {
      out.set("qk_norm", true);
      out.set("qk_norm_eps", c.number_or("rms_norm_eps", 1e-6));
    }
    if (d.scale_key) out.set("softmax_scale", c.number_or(d.scale_key, 1.0));
    if (d.output_gate) out.set("output_gate", true);
    c.irrelevant("attention_dropout", "dropout of the attention weights: inactive in evaluation, and strata trains "
                                      "without dropout");
  };
  m.export_config = [d](const Config& a, const Config& model, hf::ConfigWriter& out) {
    if (a.string("positions") != (d.rope ? "rope" : "none"))
      hf::not_exportable(std::string("attention needs positions = \"") + (d.rope ? "rope" : "none") + "\"");
    if (d.rope && (a.boolean("rope_interleaved") || (!d.rope_fraction_read && a.number("rope_fraction") != d.rope_fraction)))
      hf::not_exportable("Hugging Face rotates " + std::string(d.rope_fraction == 1.0 ? "the whole head" : "half of each head") +
                         " in halves (rope_interleaved = false, rope_fraction = " + hf::TomlWriter::toml_number(d.rope_fraction) +
                         ")");
    if (!a.boolean("causal") || (a.has("softmax_scale") && !d.scale_key) || a.boolean("fused_qkv"))
      hf::not_exportable("attention with causal = false, softmax_scale or fused_qkv");
    if (a.boolean("output_gate") != d.output_gate)
      hf::not_exportable(d.output_gate ? "Qwen3-Next's attention gates its output (output_gate = true)"
                                       : "an attention output gate (output_gate; Qwen3NextForCausalLM has one)");
    if (a.boolean("qk_norm") != d.qk_norm)
      hf::not_exportable(d.qk_norm ? "Qwen3's attention normalises q and k (qk_norm = true)"
                                   : "q and k norms (qk_norm; Qwen3ForCausalLM has them)");
    if (d.qk_norm && a.number("qk_norm_eps") != model.number("norm_eps"))
      hf::not_exportable("Qwen3's q and k norms use the model's rms_norm_eps (qk_norm_eps = norm_eps)");
    if (a.has("window") && d.window != AttentionDialect::Window::every_layer)
      hf::not_exportable("a sliding window (MistralForCausalLM has one)");
    if (d.qkv_bias_only) {
      if (!a.boolean("qkv_bias") || a.boolean("out_bias"))
        hf::not_exportable("Qwen2's attention has q, k and v biases and no o bias (qkv_bias = true, out_bias = false)");
    } else if (a.boolean("qkv_bias") != a.boolean("out_bias")) {
      hf::not_exportable("Hugging Face's attention_bias sets q, k, v and o biases together");
    }
    const std::int64_t heads = a.integer("n_heads");
    out.set("num_attention_heads", heads);
    out.set("num_key_value_heads", a.has("n_kv_heads") ? a.integer("n_kv_heads") : heads);
    out.set("head_dim", a.has("head_dim") ? a.integer("head_dim") : model.integer("d_model") / heads);
    if (!d.qkv_bias_only) out.set("attention_bias", a.boolean("qkv_bias"));
    if (d.window == AttentionDialect::Window::every_layer) {
      if (a.has("window")) out.set("sliding_window", a.integer("window"));
      else out.set_null("sliding_window");
    }
    if (d.window == AttentionDialect::Window::qwen2) out.set("use_sliding_window", false);
    if (d.rope) export_rope(a, out);
    if (d.rope_fraction_read) out.set("partial_rotary_factor", a.number("rope_fraction"));
    else if (d.rope_fraction != 1.0) out.set("partial_rotary_factor", d.rope_fraction);
    if (d.scale_key) {
      const double head_dim = double(a.has("head_dim") ? a.integer("head_dim") : model.integer("d_model") / heads);
      out.set(d.scale_key, a.has("softmax_scale") ? a.number("softmax_scale") : 1.0 / std::sqrt(head_dim));
    }
  };
  if (d.qk_norm_offset != 0.0)
    m.tensors = {{"q_norm.weight", {"q_norm.weight"}, -1, false, d.qk_norm_offset},
                 {"k_norm.weight", {"k_norm.weight"}, -1, false, d.qk_norm_offset}};
  return m;  // q_proj, k_proj, v_proj, o_proj (and biases) keep their names
}

// Qwen3-Next's gated attention: Qwen3's q and k norms (zero-centred: 1 + weight), RoPE on
// partial_rotary_factor of each head (default 0.25), and the sigmoid output gate.
hf::ComponentMapping qwen3_next_attention_mapping() {
  AttentionDialect d{{kQwen3Next}};
  d.qk_norm = true;
  d.rope_fraction = 0.25;
  d.rope_fraction_read = true;
  d.output_gate = true;
  d.qk_norm_offset = 1.0;
  return attention_mapping(d);
}

// GraniteMoeHybrid's attention: RoPE when position_embedding_type is "rope", none otherwise
// (Granite-4.0-H's "nope"), and the scores scaled by attention_multiplier.
hf::ComponentMapping granite_attention_mapping() {
  AttentionDialect rope{{kGranite}};
  rope.scale_key = "attention_multiplier";
  AttentionDialect nope = rope;
  nope.rope = false;
  const hf::ComponentMapping with_rope = attention_mapping(rope), without = attention_mapping(nope);
  hf::ComponentMapping m = with_rope;
  m.import_config = [with_rope, without](const hf::ConfigView& c, hf::TomlWriter& out) {
    const std::string positions = c.string_or("position_embedding_type", "nope");
    c.require(positions == "rope" || positions == "nope", "position_embedding_type", "must be \"rope\" or \"nope\"");
    if (positions == "rope") return with_rope.import_config(c, out);
    without.import_config(c, out);
    for (const char* key : {"rope_theta", "rope_scaling", "rope_parameters", "max_position_embeddings"})
      c.irrelevant(key, "RoPE's settings: unused, position_embedding_type is not \"rope\"");
  };
  m.export_config = [with_rope, without](const Config& a, const Config& model, hf::ConfigWriter& out) {
    const bool rope = a.string("positions") == "rope";
    (rope ? with_rope : without).export_config(a, model, out);
    out.set("position_embedding_type", rope ? "rope" : "nope");
  };
  return m;
}

}  // namespace

void register_hf_mappings(PluginRegistrar& registrar) {
  registrar.add_hf_architecture(llama_family(kLlama, "llama", "mlp", "mlp", 1e-6));
  registrar.add_hf_architecture(llama_family(kMistral, "mistral", "mlp", "mlp", 1e-6));
  registrar.add_hf_architecture(llama_family(kQwen2, "qwen2", "mlp", "mlp", 1e-6));
  registrar.add_hf_architecture(llama_family(kQwen3, "qwen3", "mlp", "mlp", 1e-6));
  registrar.add_hf_architecture(llama_family(kMixtral, "mixtral", "moe", "block_sparse_moe", 1e-5));
  registrar.add_hf_architecture(qwen3_moe_architecture(llama_family(kQwen3Moe, "qwen3_moe", "moe", "mlp", 1e-6)));
  registrar.add_hf_component(attention_mapping({{kLlama}}));
  registrar.add_hf_component(attention_mapping({{kMistral, kMixtral}, true, false, AttentionDialect::Window::every_layer}));
  registrar.add_hf_component(attention_mapping({{kQwen2}, true, true, AttentionDialect::Window::qwen2}));
  registrar.add_hf_component(
      attention_mapping({{kQwen3, kQwen3Moe}, true, false, AttentionDialect::Window::qwen2, true}));
  registrar.add_hf_component(attention_mapping({{kJamba}, false}));
  registrar.add_hf_component(
      attention_mapping({{kBamba}, true, false, AttentionDialect::Window::refused, false, 0.5}));
  registrar.add_hf_component(granite_attention_mapping());
  registrar.add_hf_component(qwen3_next_attention_mapping());
}

}  // namespace strata::attention_plugin
