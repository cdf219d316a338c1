#pragma once
// Causal depthwise 1-d convolution over time (Mamba's short conv), channels last:
//
//   y[b, t, d] = bias[d] + sum_{j < K} w[d, j] * xp[b, t + j, d]
//
// where xp = [initial state (K-1 rows, zeros when absent); x] along time: output t sees
// inputs t-K+1 .. t, and w[:, K-1] weighs the current token (PyTorch conv1d with K-1
// left padding). Forward and backward, f32 and f64, vectorised over channels.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct CausalConv1dArgs {
  std::int64_t batch = 0, seq_len = 0, channels = 0, kernel_size = 0;
  const T* x = nullptr;        // [B, T, D] contiguous
  const T* weight = nullptr;   // [D, K] contiguous
  const T* bias = nullptr;     // [D] or null
  const T* initial = nullptr;  // [B, K-1, D] or null (zeros)
  // Packed documents (strata/packing.h): [B, T], where each row's document starts; output t
  // reads no input before it (the initial state only reaches a row's first document).
  // Null: one sequence per row.
  const std::int64_t* seq_start = nullptr;
  T* y = nullptr;              // [B, T, D] (forward output)

  // backward
  const T* dy = nullptr;   // [B, T, D]
  T* dx = nullptr;         // [B, T, D], overwritten
  T* dweight = nullptr;    // [D, K], overwritten (may be null)
  T* dbias = nullptr;      // [D], overwritten (may be null)
  T* dinitial = nullptr;   // [B, K-1, D], overwritten (may be null)
};

// Threaded over (batch, time blocks).
template <class T>
void causal_conv1d_fwd_cpu(const CausalConv1dArgs<T>& args);

// dx/dinitial threaded over (batch, time blocks); dweight/dbias over channel blocks, each
// summed over (b, t) in a fixed order, so results do not depend on the thread count.
template <class T>
void causal_conv1d_bwd_cpu(const CausalConv1dArgs<T>& args);

}  // namespace strata::kernels::cpu
