#pragma once
// Scalar formulas shared by the f64 (reference) paths of several kernels.
#include <cmath>

namespace strata::kernels::cpu {

// 1 / (1 + exp(-x)), evaluating exp only at non-positive arguments so neither branch overflows.
template <class T>
T sigmoid_stable(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

}  // namespace strata::kernels::cpu
