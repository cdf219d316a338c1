#pragma once
// One AdamW step on CUDA: twin of kernels/cpu/adamw.h (same update, same formulas):
//   p = p (1 - lr wd) - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// with m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2 updated in place.
// Plain C++ (no CUDA headers), for the backend's registration.
#include <cstdint>
#include <string>

#include "kernels/cpu/adamw.h"

namespace strata::kernels::cuda {

using AdamWArgs = cpu::AdamWArgs;  // the CPU kernel's arguments

// param, grad, m, v: [n] contiguous device arrays (T: float, double); m and v updated in place.
template <class T>
std::string adamw_cuda(const AdamWArgs& args, T* param, const T* grad, T* m, T* v, int device);

}  // namespace strata::kernels::cuda
