#pragma once
// The `importance_load` balance term (Shazeer et al. 2017):
//   importance_i = sum over tokens of the gate given to expert i
//   load_i       = sum over tokens of P(token picks i), the smooth estimator of noisy top-k:
//                  P(t, i) = Phi((x W_g^T)_{t,i} - kth_excluding(H_t, k, i)) / noise_std_{t,i}),
//                  kth_excluding = the k-th largest noisy logit of token t other than i's own
//   loss = w_importance CV(importance)^2 + w_load CV(load)^2,  CV = std / mean (population)
// The load term needs the noisy_topk router's noise (training only); in evaluation it is
// left out. The thresholds kth_excluding are constants in the gradient.
#include <strata/plugin.h>

namespace strata::moe_plugin {

void register_importance_load(PluginRegistrar& registrar);

}  // namespace strata::moe_plugin
