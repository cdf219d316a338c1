// Llama and Mixtral as Hugging Face writes them, and the attention mixer's config.json keys
// and tensor names (transformers' LlamaAttention: q_proj, k_proj, v_proj, o_proj, which are
// strata's names too).
#include "hf_mapping.h"

#include <optional>
#include <string>
#include <utility>

namespace strata::attention_plugin {

namespace {



constexpr const char* kLlama = "LlamaForCausalLM";
constexpr const char* kMixtral = "MixtralForCausalLM";
constexpr const char* kJamba = "JambaForCausalLM";

// The decoder layout Llama and Mixtral share; `ffn` is the type of their feed-forward.
// `mixtral`: its config.json also says sliding_window = null (full attention).
hf::ArchitectureMapping llama_family(const char* name, const char* model_type, const char* ffn, const char* ffn_module,
                                     double default_eps, bool mixtral) {
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
  a.export_config = [mixtral](const Config&, hf::ConfigWriter& out) {
    if (!out.has("max_position_embeddings")) out.set("max_position_embeddings", 4096);  // unless RoPE scaling set it
    if (mixtral) out.set_null("sliding_window");
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

// `rope`: Llama and Mixtral rotate q and k; Jamba's attention has no positional encoding.
hf::ComponentMapping attention_mapping(bool rope, std::vector<std::string> architectures) {
  hf::ComponentMapping m;
  m.kind = ComponentKind::mixer;
  m.type = "attention";
  m.architectures = std::move(architectures);
  m.import_config = [rope](const hf::ConfigView& c, hf::TomlWriter& out) {
    const std::int64_t heads = c.integer("num_attention_heads");
    out.set("n_heads", heads);
    out.set("n_kv_heads", c.integer_or("num_key_value_heads", heads));
    if (c.present("head_dim")) out.set("head_dim", c.integer("head_dim"));
    c.require(!c.present("sliding_window"), "sliding_window",
              "is set; strata imports " + c.architecture() + " with full attention (sliding_window = null)");
    if (rope) {
      out.set("positions", "rope");
      import_rope(c, out);
    } else {
      out.set("positions", "none");
    }
    if (c.boolean_or("attention_bias", false)) {
      out.set("qkv_bias", true);
      out.set("out_bias", true);
    }
    c.irrelevant("attention_dropout", "dropout of the attention weights: inactive in evaluation, and strata trains "
                                      "without dropout");
  };
  m.export_config = [rope](const Config& a, const Config& model, hf::ConfigWriter& out) {
    if (a.string("positions") != (rope ? "rope" : "none"))
      hf::not_exportable(std::string("attention needs positions = \"") + (rope ? "rope" : "none") + "\"");
    if (rope && (a.boolean("rope_interleaved") || a.number("rope_fraction") != 1.0))
      hf::not_exportable("Hugging Face rotates the whole head in halves (rope_interleaved = false, rope_fraction = 1)");
    if (a.has("window") || !a.boolean("causal") || a.has("softmax_scale") || a.boolean("fused_qkv"))
      hf::not_exportable("attention with window, causal = false, softmax_scale or fused_qkv");
    if (a.boolean("qkv_bias") != a.boolean("out_bias"))
      hf::not_exportable("Hugging Face's attention_bias sets q, k, v and o biases together");
    const std::int64_t heads = a.integer("n_heads");
    out.set("num_attention_heads", heads);
    out.set("num_key_value_heads", a.has("n_kv_heads") ? a.integer("n_kv_heads") : heads);
    out.set("head_dim", a.has("head_dim") ? a.integer("head_dim") : model.integer("d_model") / heads);
    out.set("attention_bias", a.boolean("qkv_bias"));
    if (rope) export_rope(a, out);
  };
  return m;  // q_proj, k_proj, v_proj, o_proj (and biases) keep their names
}

}  // namespace

void register_hf_mappings(PluginRegistrar& registrar) {
  registrar.add_hf_architecture(llama_family(kLlama, "llama", "mlp", "mlp", 1e-6, false));
  registrar.add_hf_architecture(llama_family(kMixtral, "mixtral", "moe", "block_sparse_moe", 1e-5, true));
  registrar.add_hf_component(attention_mapping(true, {kLlama, kMixtral}));
  registrar.add_hf_component(attention_mapping(false, {kJamba}));
}

}  // namespace strata::attention_plugin
