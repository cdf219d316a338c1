#pragma once
// Load-balancing terms, each a `balance` component with its coefficient:
//   switch_aux  alpha * E * sum_i f_i P_i, P_i = mean_t p_{t,i} (the only differentiable
//               factor), f_i the routed fraction:
//                 normalization = "switch": f_i = share of tokens whose top-1 is i (Switch
//                                           Transformers, Fedus et al. 2021, arXiv:2101.03961)
//                                 "topk":   f_i = count_i / (k N) (NVIDIA Megatron-LM,
//                                           switch_load_balancing_loss_func in moe_utils.py)
//                                 "hf":     f_i = count_i / N (huggingface/transformers
//                                           load_balancing_loss_func, Mixtral/Jamba/OLMoE)
//               At perfect balance the loss is alpha for "switch" and "topk", alpha * k for "hf".
//                 scope = "batch":    over the N tokens of the forward
//                         "sequence": per sequence, averaged (DeepSeek-V2/V3,
//                                     arXiv:2405.04434, arXiv:2412.19437)
//                         "global":   f_i from counts accumulated over the micro-batches of
//                                     the current optimizer step (Qwen's global-batch loss,
//                                     "Demons in the Detail", arXiv:2501.11873)
//   z_loss      coef * mean_t logsumexp(logits_t)^2 (ST-MoE, Zoph et al. 2022,
//               arXiv:2202.08906)
//   none        no loss
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_balance_terms(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
