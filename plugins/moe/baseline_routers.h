#pragma once
// Routers without a learned choice, as baselines and for benchmarking:
//   hash:    token id -> a fixed random set of top_k experts (Roller et al. 2021, hash layers)
//   random:  top_k distinct experts drawn uniformly per token
//   uniform: slot s = t k + j goes to expert s mod E: forced perfect balance (megablocks
//            uniform_expert_assignment, Megatron force-load-balancing)
// Gates are 1 / top_k; probs are uniform (1 / E) and logits zero, constants without gradient.
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_baseline_routers(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
