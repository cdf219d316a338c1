// JambaForCausalLM as Hugging Face writes it: attention every attn_layer_period layers,
// Mamba elsewhere, the MoE feed-forward every expert_layer_period layers and a dense
// SwiGLU MLP elsewhere, both under the module `feed_forward`. The attention, mamba, mlp
// and moe components map their own keys and tensors for this architecture.
#include "hf_mapping.h"

namespace strata::jamba_plugin {

namespace {



constexpr const char* kJamba = "JambaForCausalLM";
constexpr const char* kLayoutKeys[] = {"attn_layer_period", "attn_layer_offset", "expert_layer_period",
                                       "expert_layer_offset"};
constexpr std::int64_t kLayoutDefaults[] = {8, 4, 2, 1};  // Jamba-v0.1, as JambaConfig's defaults

hf::ArchitectureMapping jamba_architecture() {
  hf::ArchitectureMapping a;
  a.name = kJamba;
  a.model_type = "jamba";
  a.stack = "jamba";
  a.mixers = {"attention", "mamba"};
  a.ffns = {"mlp", "moe"};
  a.modules = {{"attention", "self_attn"}, {"mamba", "mamba"}, {"mlp", "feed_forward"}, {"moe", "feed_forward"}};
  a.embedding = "model.embed_tokens.weight";
  a.final_norm = "model.final_layernorm.weight";
  a.layer_prefix = "model.layers.";
  a.mixer_norm = "input_layernorm";
  a.ffn_norm = "pre_ff_layernorm";
  a.norm_eps_key = "rms_norm_eps";
  a.export_config = [](const Config&, hf::ConfigWriter& out) {
    // JambaMLP has no biases and no mlp_bias key.
    if (out.boolean("mlp_bias").value_or(false)) hf::not_exportable("Jamba's dense MLPs have no biases");
    out.erase("mlp_bias");
    out.set("use_mamba_kernels", false);
  };
  return a;
}

hf::ComponentMapping jamba_stack_mapping() {
  hf::ComponentMapping m;
  m.kind = ComponentKind::stack;
  m.type = "jamba";
  m.architectures = {kJamba};
  m.import_config = [](const hf::ConfigView& c, hf::TomlWriter& out) {
    c.require(c.integer_or("num_experts", 16) > 1, "num_experts",
              "is 1 (no MoE layers); strata's jamba stack needs MoE layers");
    for (std::size_t i = 0; i < std::size(kLayoutKeys); ++i)
      out.set(kLayoutKeys[i], c.integer_or(kLayoutKeys[i], kLayoutDefaults[i]));
    c.irrelevant("max_position_embeddings", "the context trained for: Jamba's attention has no positional encoding");
    c.irrelevant("num_logits_to_keep", "how many final positions' logits transformers computes");
  };
  m.export_config = [](const Config& stack, const Config&, hf::ConfigWriter& out) {
    for (const char* key : kLayoutKeys) out.set(key, stack.integer(key));
  };
  return m;
}

}  // namespace

void register_hf_mappings(PluginRegistrar& registrar) {
  registrar.add_hf_architecture(jamba_architecture());
  registrar.add_hf_component(jamba_stack_mapping());
}

}  // namespace strata::jamba_plugin
