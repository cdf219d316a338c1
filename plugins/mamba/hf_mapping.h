#pragma once
// The mamba plugin's Hugging Face mappings: MambaForCausalLM, and the mamba mixer in it
// and in JambaForCausalLM.
#include <strata/plugin.h>

namespace strata::mamba_plugin {

void register_hf_mappings(PluginRegistrar& registrar);

}  // namespace strata::mamba_plugin
