#pragma once
// A plugin that exists to prove the extension points: everything in it is added without
// any change in framework/ (tests/extension/test_extension.cpp exercises each end to end).
#include <strata/plugin.h>

namespace strata::extension_plugin {

void register_sgd_momentum(PluginRegistrar& registrar);    // optimizer "sgd_momentum"
void register_parallel_block(PluginRegistrar& registrar);  // block "parallel"
void register_token_shift(PluginRegistrar& registrar);     // mixer "token_shift", with telemetry
void register_token_shift_hf(PluginRegistrar& registrar);  // Hugging Face "TokenShiftForCausalLM"

}  // namespace strata::extension_plugin
