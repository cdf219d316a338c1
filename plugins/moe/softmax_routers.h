#pragma once
// Routers that score experts with a softmax over a linear layer:
//   softmax_topk: p = softmax(x W^T); the k largest p; gates p (Jamba, OLMoE) or p
//                 renormalised over the k (Mixtral, DeepSeek norm_topk_prob)
//   switch:       top-1 with gate p_max (Switch Transformer)
//   noisy_topk:   H = x W^T + eps * softplus(x W_noise^T), eps ~ N(0, 1) in training;
//                 gates = softmax over the k largest H (Shazeer et al. 2017)
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_softmax_routers(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
