#pragma once
// The attention plugin's Hugging Face mappings: the Llama-family architectures
// (LlamaForCausalLM, MixtralForCausalLM) and the attention mixer in them and in Jamba.
#include <strata/plugin.h>

namespace strata::attention_plugin {

void register_hf_mappings(PluginRegistrar& registrar);

}  // namespace strata::attention_plugin
