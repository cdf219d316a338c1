#pragma once
// The `sigmoid_bias` router (DeepSeek-V3): s = sigmoid(x W^T); experts chosen by s + bias
// (the selection bias of an aux_free_bias controller, when present); gates from the
// unbiased s of the chosen experts, normalised to sum 1 (optional) and multiplied by
// scaling. With n_groups > 1, selection is group-limited: a group's score is the sum of
// its two best (biased) scores, only the topk_groups best groups stay, and the top_k
// experts are chosen inside them. probs (for balance terms) = s / sum_e s.
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_sigmoid_router(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
