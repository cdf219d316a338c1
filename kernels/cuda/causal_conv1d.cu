// Causal depthwise conv1d on a CUDA device (twin of kernels/cpu/causal_conv1d.cpp):
//
//   y[b, t, d] = bias[d] + sum_{j < K} w[d, j] * xp[b, t + j, d],   xp = [initial; x] in time
//
// Forward and dx / dinitial: one thread per output element, channels fastest (coalesced
// over d), each summing its taps in the CPU's order. dweight / dbias: one block per
// (32-channel tile, tap), reducing over (b, t) in a fixed order: deterministic, no atomics.
#include "kernels/cuda/causal_conv1d.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

// Row s of xp = [initial; x] for sequence b (s in [0, K-1+T)); null for a zero row (no
// initial state). Same as the CPU's padded_row.
template <class T>
__device__ inline const T* padded_row(const CausalConv1dArgs<T>& a, std::int64_t b, std::int64_t s) {
  const std::int64_t K1 = a.kernel_size - 1, D = a.channels;
  if (s >= K1) return a.x + (b * a.seq_len + (s - K1)) * D;
  return a.initial ? a.initial + (b * K1 + s) * D : nullptr;
}

// The first row s of xp that output t of sequence b reads: the CPU's reads(b, t, s) is
// s >= first_read(b, t). Packed documents cut off inputs before t's document start (s - (K-1)
// >= start); a row's first document (start 0) reads the initial state too.
template <class T>
__device__ inline std::int64_t first_read(const CausalConv1dArgs<T>& a, std::int64_t b, std::int64_t t) {
  if (!a.seq_start) return 0;
  const std::int64_t start = a.seq_start[b * a.seq_len + t];
  return start == 0 ? 0 : start + (a.kernel_size - 1);
}

// y: [B, T, D]; one thread per element.
template <class T>
__global__ void conv_fwd_kernel(const CausalConv1dArgs<T> a) {
  const std::int64_t D = a.channels, K = a.kernel_size, total = a.batch * a.seq_len * D;
  for (std::int64_t i = global_index(); i < total; i += grid_size()) {
    const std::int64_t d = i % D, row = i / D;
    const std::int64_t b = row / a.seq_len, t = row % a.seq_len;
    const std::int64_t first = first_read(a, b, t);
    T acc = a.bias ? a.bias[d] : T(0);
    for (std::int64_t j = 0; j < K; ++j) {
      const T* x = padded_row(a, b, t + j);
      if (!x || t + j < first) continue;
      acc += a.weight[d * K + j] * x[d];
    }
    a.y[i] = acc;
  }
}

// d xp[b, s, d] = sum_j w[d, j] * dy[b, s - j, d] over 0 <= s - j < T where output s - j
// reads row s; rows s >= K-1 are dx [B, T, D], rows s < K-1 dinitial [B, K-1, D] (skipped
// when null). One thread per (b, s, d) of the [B, K-1+T, D] padded layout.
template <class T>
__global__ void conv_bwd_input_kernel(const CausalConv1dArgs<T> a) {
  const std::int64_t D = a.channels, K1 = a.kernel_size - 1, T_ = a.seq_len, S = K1 + T_;
  const std::int64_t total = a.batch * S * D;
  for (std::int64_t i = global_index(); i < total; i += grid_size()) {
    const std::int64_t d = i % D, row = i / D;
    const std::int64_t b = row / S, s = row % S;
    T* out = s >= K1 ? a.dx + (b * T_ + (s - K1)) * D : (a.dinitial ? a.dinitial + (b * K1 + s) * D : nullptr);
    if (!out) continue;
    T acc = T(0);
    const std::int64_t j0 = s - T_ + 1 > 0 ? s - T_ + 1 : 0, j1 = s < K1 ? s : K1;
    for (std::int64_t j = j0; j <= j1; ++j) {
      const std::int64_t t = s - j;
      if (s < first_read(a, b, t)) continue;
      acc += a.weight[d * a.kernel_size + j] * a.dy[(b * T_ + t) * D + d];
    }
    out[d] = acc;
  }
}

constexpr int kRowLanes = 16;  // rows of (b, t) a param-grad block walks at once

// dweight[d, j] = sum_{b, t} dy[b, t, d] * xp[b, t + j, d] (over the rows output t reads);
// dbias[d] = sum_{b, t} dy[b, t, d]. Block (kWarp, kRowLanes): lane x owns channel
// tile * 32 + x (coalesced reads of dy and x), lane y the rows y, y + kRowLanes, ...; the
// kRowLanes partial sums are then added in lane order. blockIdx.y is the tap j, or K for
// dbias. Every branch on j or on a null output is uniform over the block.
template <class T>
__global__ void __launch_bounds__(kWarp * kRowLanes) conv_bwd_params_kernel(const CausalConv1dArgs<T> a) {
  __shared__ T partial[kRowLanes][kWarp];
  const std::int64_t D = a.channels, K = a.kernel_size, T_ = a.seq_len, rows = a.batch * T_;
  const std::int64_t tiles = (D + kWarp - 1) / kWarp;
  for (std::int64_t j = blockIdx.y; j <= K; j += gridDim.y) {
    if (!(j < K ? a.dweight : a.dbias)) continue;
    for (std::int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const std::int64_t d = tile * kWarp + threadIdx.x;
      T acc = T(0);
      if (d < D)
        for (std::int64_t r = threadIdx.y; r < rows; r += kRowLanes) {
          const T g = a.dy[r * D + d];
          if (j == K) {
            acc += g;
            continue;
          }
          const std::int64_t b = r / T_, t = r % T_;
          const T* x = padded_row(a, b, t + j);
          if (!x || t + j < first_read(a, b, t)) continue;
          acc += g * x[d];
        }
      partial[threadIdx.y][threadIdx.x] = acc;
      __syncthreads();
      if (threadIdx.y == 0 && d < D) {
        T sum = T(0);
        for (int y = 0; y < kRowLanes; ++y) sum += partial[y][threadIdx.x];
        if (j == K)
          a.dbias[d] = sum;
        else
          a.dweight[d * K + j] = sum;
      }
      __syncthreads();  // partial is rewritten by the next tile
    }
  }
}

}  // namespace

template <class T>
std::string causal_conv1d_fwd_cuda(const CausalConv1dArgs<T>& a, int device) {
  if (a.kernel_size < 1) return "kernel_size = " + std::to_string(a.kernel_size) + " must be >= 1";
  const std::int64_t total = a.batch * a.seq_len * a.channels;
  if (total == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  conv_fwd_kernel<T><<<blocks_for(total), kThreads>>>(a);
  return launch_status();
}

template <class T>
std::string causal_conv1d_bwd_cuda(const CausalConv1dArgs<T>& a, int device) {
  if (a.kernel_size < 1) return "kernel_size = " + std::to_string(a.kernel_size) + " must be >= 1";
  const std::int64_t K = a.kernel_size, D = a.channels;
  // Over the padded rows even when T = 0: dinitial is then all zeros, as on the CPU.
  const std::int64_t inputs = a.batch * (K - 1 + a.seq_len) * D;
  const bool params = (a.dweight || a.dbias) && D > 0;  // written (zeros) even when B * T = 0
  if (inputs == 0 && !params) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  if (inputs > 0) {
    conv_bwd_input_kernel<T><<<blocks_for(inputs), kThreads>>>(a);
    if (auto e = launch_status(); !e.empty()) return e;
  }
  if (params) {
    const std::int64_t tiles = (D + kWarp - 1) / kWarp;
    const dim3 grid(blocks_for(tiles, 1), unsigned(K + 1 < 65535 ? K + 1 : 65535));
    conv_bwd_params_kernel<T><<<grid, dim3(kWarp, kRowLanes)>>>(a);
  }
  return launch_status();
}

template std::string causal_conv1d_fwd_cuda<float>(const CausalConv1dArgs<float>&, int);
template std::string causal_conv1d_fwd_cuda<double>(const CausalConv1dArgs<double>&, int);
template std::string causal_conv1d_bwd_cuda<float>(const CausalConv1dArgs<float>&, int);
template std::string causal_conv1d_bwd_cuda<double>(const CausalConv1dArgs<double>&, int);

}  // namespace strata::kernels::cuda
