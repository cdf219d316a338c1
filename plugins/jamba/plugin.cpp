// The jamba plugin: registers the `jamba` stack.
//
//   [model.stack]
//   type = "jamba"
//   attn_layer_period = 8      # Jamba-v0.1's layout (the defaults)
//   attn_layer_offset = 4
//   expert_layer_period = 2
//   expert_layer_offset = 1
//
//   [model.mixer.attention]  type = "attention", positions = "none", ...
//   [model.mixer.mamba]      type = "mamba", inner_norms = true, ...
//   [model.ffn.mlp]          type = "mlp"
//   [model.ffn.moe]          type = "moe", n_experts = 16, top_k = 2, router = { ..., renormalize = false }
#include <strata/plugin.h>

#include <string>

#include "hf_mapping.h"
#include "jamba_stack.h"

namespace {

using namespace strata;
using jamba_plugin::JambaLayout;
using jamba_plugin::JambaStack;

ConfigSchema jamba_schema() {
  ConfigSchema s;
  s.integer("attn_layer_period", 8, "attention every attn_layer_period layers (Jamba-v0.1: 8)").at_least(1);
  s.integer("attn_layer_offset", 4, "layer i is attention when i % attn_layer_period == attn_layer_offset").at_least(0);
  s.integer("expert_layer_period", 2, "MoE every expert_layer_period layers (Jamba-v0.1: 2)").at_least(1);
  s.integer("expert_layer_offset", 1, "layer i has the MoE ffn when i % expert_layer_period == expert_layer_offset")
      .at_least(0);
  s.string("attention", "attention", "the [model.mixer.*] entry of attention layers");
  s.string("mamba", "mamba", "the [model.mixer.*] entry of the other layers");
  s.string("mlp", "mlp", "the [model.ffn.*] entry of dense layers");
  s.string("moe", "moe", "the [model.ffn.*] entry of MoE layers");
  return s;
}

std::unique_ptr<JambaStack> make_jamba(const Config& config, const BuildContext&) {
  JambaLayout l;
  l.attn_layer_period = config.integer("attn_layer_period");
  l.attn_layer_offset = config.integer("attn_layer_offset");
  l.expert_layer_period = config.integer("expert_layer_period");
  l.expert_layer_offset = config.integer("expert_layer_offset");
  // Hugging Face's _check_supported_offset.
  if (l.attn_layer_offset >= l.attn_layer_period)
    throw config.error(config.has("attn_layer_offset") ? "attn_layer_offset" : "attn_layer_period",
                       "offset " + std::to_string(l.attn_layer_offset) + " must be below attn_layer_period = " +
                           std::to_string(l.attn_layer_period),
                       "layer i is attention when i % period == offset, so the offset is one of 0 .. period - 1");
  if (l.expert_layer_offset >= l.expert_layer_period)
    throw config.error(config.has("expert_layer_offset") ? "expert_layer_offset" : "expert_layer_period",
                       "offset " + std::to_string(l.expert_layer_offset) + " must be below expert_layer_period = " +
                           std::to_string(l.expert_layer_period),
                       "layer i is MoE when i % period == offset, so the offset is one of 0 .. period - 1");
  l.attention = config.string("attention");
  l.mamba = config.string("mamba");
  l.mlp = config.string("mlp");
  l.moe = config.string("moe");
  return std::make_unique<JambaStack>(std::move(l), config);
}

void register_components(PluginRegistrar& registrar) {
  registrar.add<JambaStack>("jamba", "Jamba's layer rules: attention and MoE by period and offset (HF JambaConfig)",
                            jamba_schema(), &make_jamba);
  jamba_plugin::register_hf_mappings(registrar);
}

}  // namespace

STRATA_PLUGIN("jamba", "0.1.0", register_components)
