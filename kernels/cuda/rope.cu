// Rotary position embedding on a CUDA device (twin of kernels/cpu/rope.cpp): a first
// kernel fills the cos / sin tables of every (position, pair), shared by all batches and
// heads, a second rotates.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/rope.h"

namespace strata::kernels::cuda {

namespace {

// cos_table, sin_table: [T, half], entry (t, c) for the angle (position_offset + t) *
// inv_freq(c), in f64 and rounded to T after the scale, as rope_cpu (sin negated for the
// inverse rotation).
template <class T>
__global__ void rope_table_kernel(T* __restrict__ cos_table, T* __restrict__ sin_table,
                                  const double* __restrict__ inv_freq, double theta, std::int64_t rotary_dim,
                                  std::int64_t seq_len, std::int64_t position_offset, double scale, bool inverse) {
  const std::int64_t half = rotary_dim / 2, total = seq_len * half;
  for (std::int64_t e = global_index(); e < total; e += grid_size()) {
    const std::int64_t t = e / half, c = e % half;
    const double f = inv_freq ? inv_freq[c] : pow(theta, -2.0 * double(c) / double(rotary_dim));
    const double angle = double(position_offset + t) * f;
    double s, co;
    sincos(angle, &s, &co);
    cos_table[e] = T(scale * co);
    sin_table[e] = T(scale * (inverse ? -s : s));
  }
}

// x: [B, T, H, D] at strides (x_stride_b, x_stride_t, D, 1); out: [B, T, H, D] contiguous.
// One thread per (row, head, slot): slots [0, half) are the channel pairs, each thread
// writing both channels of its pair; slots [half, half + D - rotary_dim) copy the
// channels past the rotary part. Pair c is (c * step, c * step + partner).
template <class T>
__global__ void rope_apply_kernel(RopeArgs<T> a, const T* __restrict__ cos_table, const T* __restrict__ sin_table) {
  const std::int64_t d = a.head_dim, half = a.rotary_dim / 2;
  const std::int64_t slots = half + (d - a.rotary_dim);
  const std::int64_t total = a.batch * a.seq_len * a.n_heads * slots;
  const std::int64_t step = a.interleaved ? 2 : 1, partner = a.interleaved ? 1 : half;
  for (std::int64_t e = global_index(); e < total; e += grid_size()) {
    const std::int64_t s = e % slots, rh = e / slots;  // rh = row * n_heads + h
    const std::int64_t h = rh % a.n_heads, row = rh / a.n_heads;
    const std::int64_t b = row / a.seq_len, t = row % a.seq_len;
    const T* x = a.x + b * a.x_stride_b + t * a.x_stride_t + h * d;
    T* y = a.out + rh * d;
    if (s < half) {
      const std::int64_t p = a.positions ? a.positions[row] : t;
      const T cs = cos_table[p * half + s], sn = sin_table[p * half + s];
      const std::int64_t i = s * step, j = i + partner;
      const T xi = x[i], xj = x[j];
      y[i] = xi * cs - xj * sn;
      y[j] = xj * cs + xi * sn;
    } else {
      const std::int64_t c = a.rotary_dim + (s - half);
      y[c] = x[c];
    }
  }
}

}  // namespace

template <class T>
std::string rope_cuda(const RopeArgs<T>& a, int device) {
  const std::int64_t half = a.rotary_dim / 2;
  const std::int64_t slots = half + (a.head_dim - a.rotary_dim);
  const std::int64_t total = a.batch * a.seq_len * a.n_heads * slots;
  if (total == 0) return {};
  if (half < 1 || a.rotary_dim % 2 != 0 || a.rotary_dim > a.head_dim)
    return "rotary_dim = " + std::to_string(a.rotary_dim) + " must be even and in [2, head_dim = " +
           std::to_string(a.head_dim) + "]";
  if (auto e = use_device(device); !e.empty()) return e;
  T* cos_table = a.table;
  T* sin_table = a.table + a.seq_len * half;
  rope_table_kernel<T><<<blocks_for(a.seq_len * half), kThreads>>>(cos_table, sin_table, a.inv_freq, a.theta,
                                                                   a.rotary_dim, a.seq_len, a.position_offset,
                                                                   a.scale, a.inverse);
  if (auto e = launch_status(); !e.empty()) return e;
  rope_apply_kernel<T><<<blocks_for(total), kThreads>>>(a, cos_table, sin_table);
  return launch_status();
}

template std::string rope_cuda<float>(const RopeArgs<float>&, int);
template std::string rope_cuda<double>(const RopeArgs<double>&, int);

}  // namespace strata::kernels::cuda
