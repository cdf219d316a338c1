#pragma once
// Rotary position embedding on a CUDA device, twin of kernels/cpu/rope (same layouts and
// formulas: see kernels/cpu/rope.h). All pointers are device pointers; the function returns
// an error string (empty on success) and does not synchronise.
#include <cstdint>
#include <string>

namespace strata::kernels::cuda {

template <class T>
struct RopeArgs {
  std::int64_t batch = 0, seq_len = 0, n_heads = 0, head_dim = 0;
  std::int64_t rotary_dim = 0;       // even, 2 <= rotary_dim <= head_dim
  std::int64_t position_offset = 0;  // position of row 0
  // [B, T] on the device: each row's position in [0, T), added to position_offset;
  // null: row t is at position_offset + t.
  const std::int64_t* positions = nullptr;
  double theta = 10000.0;
  const double* inv_freq = nullptr;  // [rotary_dim / 2] on the device, or null: from theta
  double scale = 1.0;                // on cos and sin
  bool interleaved = false;
  bool inverse = false;  // rotate by -angle (the backward)
  // x[b, t, h, c] at x[b * x_stride_b + t * x_stride_t + h * head_dim + c]
  const T* x = nullptr;
  std::int64_t x_stride_b = 0, x_stride_t = 0;
  T* out = nullptr;  // [B, T, H, head_dim] contiguous; must not overlap x
  // Scratch of 2 * seq_len * (rotary_dim / 2) elements on the device: the cos and sin
  // tables [T, rotary_dim / 2] (as rope_cpu, rounded to T), computed once per call.
  T* table = nullptr;
};

// Angles are computed in f64 as rope_cpu. T: float, double.
template <class T>
std::string rope_cuda(const RopeArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
