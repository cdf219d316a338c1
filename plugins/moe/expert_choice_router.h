#pragma once
// The `expert_choice` router (Zhou et al. 2022): S = softmax(x W^T) [N, E]; each expert
// takes the k_e = ceil(c N / E) tokens with the largest S[:, e] (c = experts per token on
// average, default top_k), so every expert is exactly full. A token may get any number
// of experts, zero included. The routing has one slot per expert: expert_ids[t, e] = e
// when e took t, else -1; gates[t, e] = S[t, e].
//
// Non-causal: whether a token is taken depends on the other tokens of the batch, later
// ones included. The moe ffn refuses it unless allow_non_causal = true.
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_expert_choice_router(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
