#pragma once
// Load-balancing terms (REFERENCE.md §5), each a `balance` component with its coefficient:
//   switch_aux  alpha * E * sum_i f_i P_i, P_i = mean_t p_{t,i} (the only differentiable
//               factor), f_i the routed fraction:
//                 normalization = "switch": f_i = share of tokens whose top-1 is i (Fedus et al.)
//                                 "topk":   f_i = count_i / (k N) (Megatron)
//                                 "hf":     f_i = count_i / N (Hugging Face Mixtral/Jamba/OLMoE)
//               At perfect balance the loss is alpha for "switch" and "topk", alpha * k for "hf".
//                 scope = "batch":    over the N tokens of the forward
//                         "sequence": per sequence, averaged (DeepSeek-V2/V3)
//                         "global":   f_i from counts accumulated over the micro-batches of
//                                     the current optimizer step (Qwen's global-batch loss)
//   z_loss      coef * mean_t logsumexp(logits_t)^2 (ST-MoE)
//   none        no loss
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_balance_terms(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
