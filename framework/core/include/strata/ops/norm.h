#pragma once
// Normalisations over the last axis.
#include "strata/tensor.h"

namespace strata {

// x: [..., D], weight: [D] or undefined -> [..., D];  y = x / sqrt(mean(x^2) + eps) * weight
Tensor rmsnorm(const Tensor& x, const Tensor& weight, double eps = 1e-5);

// x: [..., D], weight/bias: [D] or undefined -> [..., D];
// y = (x - mean) / sqrt(var + eps) * weight + bias   (biased variance, as PyTorch)
Tensor layernorm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

}  // namespace strata
