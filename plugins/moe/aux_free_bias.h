#pragma once
// The `aux_free_bias` balance controller (DeepSeek-V3; Wang et al. 2024): no loss. It
// holds a per-expert selection bias b [E] that the router adds to its scores when it
// chooses experts (never to the gate values). Loads are summed over all forwards of an
// optimizer step; after the step, b_i += rate * sign(mean_j load_j - load_i): under-loaded
// experts become more attractive, over-loaded ones less. Each forward logs the biases as
// metrics bias.<e>.
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_aux_free_bias(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
