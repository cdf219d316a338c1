#pragma once
// The moe plugin's Hugging Face mappings: the `moe` ffn in MixtralForCausalLM and
// JambaForCausalLM.
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_hf_mappings(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
