#pragma once
// Matrix products through BLAS (sgemm/dgemm).
#include "strata/tensor.h"

namespace strata {

// a: [..., M, K] (or [..., K, M] with trans_a), b: [..., K, N] (or [..., N, K] with
// trans_b) -> [..., M, N]. Batch dims broadcast; rank-1 operands are not accepted
// (reshape them). Transposed views are passed to BLAS as transposes, never copied.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// x: [..., in], weight: [out, in], bias: [out] or undefined -> [..., out] (x weight^T + bias).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace strata
