#pragma once
// Causal depthwise convolution over time (Mamba's short convolution).
#include "strata/tensor.h"

namespace strata {

// x: [B, T, D], weight: [D, K], bias: [D] or undefined, initial_state: [B, K-1, D] or
// undefined (zeros) -> [B, T, D]:
//   y[b, t, d] = bias[d] + sum_j weight[d, j] * xp[b, t + j, d],  xp = [initial_state; x]
// Output t sees inputs t-K+1 .. t; weight[:, K-1] weighs the current token (PyTorch's
// depthwise Conv1d with K-1 left padding, truncated to T). Differentiable in all four.
// The state after the sequence, for chunked processing or decoding, is the last K-1
// rows of [initial_state; x] (causal_conv1d_final_state).
// sequence_starts: [B, T] i64 for packed documents (strata/packing.h): output t sees no
// input before its document's start, and only a row's first document sees initial_state.
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                     const Tensor& initial_state = Tensor(), const Tensor& sequence_starts = Tensor());

// x: [B, T, D], initial_state: [B, K-1, D] or undefined -> [B, K-1, D], the last K-1 rows
// of [initial_state (zeros when undefined); x]. Differentiable.
Tensor causal_conv1d_final_state(const Tensor& x, const Tensor& initial_state, std::int64_t kernel_size);

}  // namespace strata
