#pragma once
// One AdamW step (decoupled weight decay, Loshchilov & Hutter) over a flat parameter,
// as PyTorch's torch.optim.AdamW:
//   p -= lr * weight_decay * p
//   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
#include <cstdint>

namespace strata::kernels::cpu {

struct AdamWArgs {
  std::int64_t n = 0;  // elements
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  std::int64_t step = 1;  // t, 1-based, for bias correction
};

// param, grad, m, v: [n], contiguous; m and v are updated in place.
void adamw_step(const AdamWArgs& a, float* param, const float* grad, float* m, float* v);
void adamw_step(const AdamWArgs& a, double* param, const double* grad, double* m, double* v);

}  // namespace strata::kernels::cpu
