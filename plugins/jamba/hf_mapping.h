#pragma once
// The jamba plugin's Hugging Face mappings: JambaForCausalLM and its layer rules.
#include <strata/plugin.h>

namespace strata::jamba_plugin {

void register_hf_mappings(PluginRegistrar& registrar);

}  // namespace strata::jamba_plugin
