#pragma once
// SwiGLU: h = silu(gate) * up, rowwise so that gate and up can be the two halves of one
// fused projection ([rows, 2H] with row stride 2H) or two separate [rows, H] tensors.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct SwigluArgs {
  std::int64_t rows = 0, cols = 0;  // cols = H
  const T* gate = nullptr;          // [rows, H], row stride in_stride
  const T* up = nullptr;            // [rows, H], row stride in_stride
  std::int64_t in_stride = 0;       // H for separate tensors, 2H for a fused [gate | up]
  T* out = nullptr;                 // [rows, H] forward output
  // backward
  const T* g = nullptr;  // [rows, H] upstream gradient
  T* dgate = nullptr;    // [rows, H], row stride in_stride
  T* dup = nullptr;      // [rows, H], row stride in_stride
};

template <class T>
void swiglu_fwd_cpu(const SwigluArgs<T>& args);
// dgate = g up s (1 + gate (1 - s)), dup = g gate s, s = sigmoid(gate)
template <class T>
void swiglu_bwd_cpu(const SwigluArgs<T>& args);

}  // namespace strata::kernels::cpu
