// Llama and Mixtral as Hugging Face writes them, and the attention mixer's config.json keys
// and tensor names (transformers' LlamaAttention: q_proj, k_proj, v_proj, o_proj, which are
// strata's names too).
#include "hf_mapping.h"

#include <string>

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
    c.irrelevant("max_position_embeddings",
                 "the context trained for: with RoPE unscaled (scaling is refused), positions beyond it are computed "
                 "the same way");
    c.irrelevant("pretraining_tp", "splits the same products into slices (an emulation of tensor parallelism): "
                                   "float reassociation only");
  };
  a.export_config = [mixtral](const Config&, hf::ConfigWriter& out) {
    out.set("max_position_embeddings", 4096);
    if (mixtral) out.set_null("sliding_window");
  };
  return a;
}

// The RoPE base: transformers 4 writes rope_theta at the top level, transformers 5 inside
// rope_parameters (with its rope_type). Scaled variants are refused, not approximated.
double rope_theta(const hf::ConfigView& c) {
  c.require(!c.present("rope_scaling"), "rope_scaling", "is set; strata's RoPE has no scaling variants yet");
  if (!c.present("rope_parameters")) return c.number_or("rope_theta", 10000.0);
  const hf::ConfigView p = c.object("rope_parameters");
  p.require(p.string_or("rope_type", "default") == "default", "rope_type",
            "is \"" + p.string_or("rope_type", "") + "\"; strata's RoPE has no scaling variants yet");
  return p.number_or("rope_theta", c.number_or("rope_theta", 10000.0));
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
      out.set("rope_theta", rope_theta(c));
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
    if (rope) out.set("rope_theta", a.number("rope_theta"));
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
