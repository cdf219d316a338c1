#include "kernels/cuda/norms.h"

#include <cmath>
#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

// ---- row kernels: x, y, g, dx [rows, cols]; weight, bias [cols] or null; mean, rstd [rows].
// One block per row; the threads stride over the columns. dx may alias g: the whole row is
// read for the reductions before block_sum returns, then each element is read before the
// same thread writes it.

template <class T>
__global__ void rmsnorm_fwd_kernel(RmsNormArgs<T> a) {
  __shared__ T scratch[kWarp];
  const std::int64_t D = a.cols;
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const T* x = a.x + r * D;
    T* y = a.y + r * D;
    T sum_sq = 0;  // in T, as the CPU kernel's row_dot
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) sum_sq += x[i] * x[i];
    sum_sq = block_sum(sum_sq, scratch);
    const T rstd = T(1) / sqrt(sum_sq / T(D) + a.eps);
    if (threadIdx.x == 0) a.rstd[r] = rstd;
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x)
      y[i] = a.weight ? x[i] * rstd * a.weight[i] : x[i] * rstd;
  }
}

// dx = rstd (gw - x rstd^2 <gw, x> / cols), gw = g w
template <class T>
__global__ void rmsnorm_bwd_kernel(RmsNormArgs<T> a) {
  __shared__ T scratch[kWarp];
  const std::int64_t D = a.cols;
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const T* x = a.x + r * D;
    const T* g = a.g + r * D;
    T* dx = a.dx + r * D;
    const T rstd = a.rstd[r];
    T dot = 0;
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) dot += (a.weight ? g[i] * a.weight[i] : g[i]) * x[i];
    dot = block_sum(dot, scratch);
    const T c = dot * rstd * rstd / T(D);
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const T gw = a.weight ? g[i] * a.weight[i] : g[i], xi = x[i];
      dx[i] = rstd * (gw - xi * c);
    }
  }
}

// Statistics in f64 and two passes for every T, as the CPU kernel: with |mean| >> std,
// f32 sums or E[x^2] - E[x]^2 would lose the variance.
template <class T>
__global__ void layernorm_fwd_kernel(LayerNormArgs<T> a) {
  __shared__ double scratch[kWarp];
  const std::int64_t D = a.cols;
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const T* x = a.x + r * D;
    T* y = a.y + r * D;
    double sum = 0;
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) sum += double(x[i]);
    const double mean = block_sum(sum, scratch) / double(D);
    double var = 0;
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) var += (double(x[i]) - mean) * (double(x[i]) - mean);
    const double rstd = 1.0 / sqrt(block_sum(var, scratch) / double(D) + double(a.eps));
    if (threadIdx.x == 0) {
      a.mean[r] = T(mean);
      a.rstd[r] = T(rstd);
    }
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const T xhat = T((double(x[i]) - mean) * rstd);
      y[i] = (a.weight ? xhat * a.weight[i] : xhat) + (a.bias ? a.bias[i] : T(0));
    }
  }
}

// xhat = (x - mean) rstd, gw = g w: dx = rstd (gw - mean(gw) - xhat mean(gw xhat)), the
// means in T as the CPU kernel.
template <class T>
__global__ void layernorm_bwd_kernel(LayerNormArgs<T> a) {
  __shared__ T scratch[kWarp];
  const std::int64_t D = a.cols;
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const T* x = a.x + r * D;
    const T* g = a.g + r * D;
    T* dx = a.dx + r * D;
    const T mean = a.mean[r], rstd = a.rstd[r];
    T sum_gw = 0, sum_gw_xhat = 0;
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const T xhat = (x[i] - mean) * rstd;
      const T gw = a.weight ? g[i] * a.weight[i] : g[i];
      sum_gw += gw;
      sum_gw_xhat += gw * xhat;
    }
    const T mean_gw = block_sum(sum_gw, scratch) / T(D);
    const T mean_gw_xhat = block_sum(sum_gw_xhat, scratch) / T(D);
    for (std::int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const T xhat = (x[i] - mean) * rstd;
      const T gw = a.weight ? g[i] * a.weight[i] : g[i];
      dx[i] = rstd * (gw - mean_gw - xhat * mean_gw_xhat);
    }
  }
}

// ---- column sums of the backward: dweight[c] = sum_r g xhat, dbias[c] = sum_r g, with
// xhat = x rstd (RMSNorm: mean null) or (x - mean) rstd. Deterministic without atomics:
// a block owns 32 columns (threadIdx.x); its kRowLanes lanes of rows (threadIdx.y) each
// sum rows y, y + kRowLanes, ... in order, and the lanes are joined in order. The sums
// are in f64 for every T (the CPU kernel joins its per-block partials in f64).

constexpr int kRowLanes = 16;

template <class T>
struct ColumnSumArgs {
  std::int64_t rows = 0, cols = 0;
  const T* x = nullptr;     // [rows, cols]
  const T* g = nullptr;     // [rows, cols]
  const T* mean = nullptr;  // [rows], or null for RMSNorm
  const T* rstd = nullptr;  // [rows]
  T* dweight = nullptr;     // [cols] (overwritten) or null
  T* dbias = nullptr;       // [cols] (overwritten) or null
};

template <class T>
__global__ void __launch_bounds__(kWarp * kRowLanes) norm_column_sums_kernel(ColumnSumArgs<T> a) {
  __shared__ double partial_w[kRowLanes][kWarp];
  __shared__ double partial_b[kRowLanes][kWarp];
  const int lane = threadIdx.x, row_lane = threadIdx.y;
  for (std::int64_t tile = blockIdx.x; tile * kWarp < a.cols; tile += gridDim.x) {
    const std::int64_t c = tile * kWarp + lane;
    double sum_w = 0, sum_b = 0;
    if (c < a.cols) {
      for (std::int64_t r = row_lane; r < a.rows; r += kRowLanes) {
        const T g = a.g[r * a.cols + c], x = a.x[r * a.cols + c], rstd = a.rstd[r];
        // the CPU kernels' product orders: RMSNorm g x rstd, LayerNorm g ((x - mean) rstd)
        if (a.dweight) sum_w += double(a.mean ? g * ((x - a.mean[r]) * rstd) : g * x * rstd);
        if (a.dbias) sum_b += double(g);
      }
    }
    partial_w[row_lane][lane] = sum_w;
    partial_b[row_lane][lane] = sum_b;
    __syncthreads();
    if (row_lane == 0 && c < a.cols) {
      double total_w = 0, total_b = 0;
      for (int k = 0; k < kRowLanes; ++k) {
        total_w += partial_w[k][lane];
        total_b += partial_b[k][lane];
      }
      if (a.dweight) a.dweight[c] = T(total_w);
      if (a.dbias) a.dbias[c] = T(total_b);
    }
    __syncthreads();  // the partials are rewritten for the next tile
  }
}

// Launched before the dx kernel, so that the column sums read g even where dx aliases it.
// With rows == 0 the sums are written as zeros (overwrite semantics).
template <class T>
std::string launch_column_sums(const ColumnSumArgs<T>& args) {
  if ((!args.dweight && !args.dbias) || args.cols == 0) return {};
  const std::int64_t tiles = (args.cols + kWarp - 1) / kWarp;
  norm_column_sums_kernel<T><<<blocks_for(tiles, 1), dim3(kWarp, kRowLanes)>>>(args);
  return launch_status();
}

}  // namespace

template <class T>
std::string rmsnorm_fwd_cuda(const RmsNormArgs<T>& args, int device) {
  if (args.rows == 0 || args.cols == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  rmsnorm_fwd_kernel<T><<<row_blocks(args.rows), row_threads(args.cols)>>>(args);
  return launch_status();
}

template <class T>
std::string rmsnorm_bwd_cuda(const RmsNormArgs<T>& args, int device) {
  if (args.cols == 0 || (args.rows == 0 && !args.dweight)) return {};  // nothing to write
  if (auto e = use_device(device); !e.empty()) return e;
  ColumnSumArgs<T> sums;
  sums.rows = args.rows, sums.cols = args.cols;
  sums.x = args.x, sums.g = args.g, sums.rstd = args.rstd;
  sums.dweight = args.dweight;
  if (auto e = launch_column_sums(sums); !e.empty()) return e;
  if (args.rows > 0)
    rmsnorm_bwd_kernel<T><<<row_blocks(args.rows), row_threads(args.cols)>>>(args);
  return launch_status();
}

template <class T>
std::string layernorm_fwd_cuda(const LayerNormArgs<T>& args, int device) {
  if (args.rows == 0 || args.cols == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  layernorm_fwd_kernel<T><<<row_blocks(args.rows), row_threads(args.cols)>>>(args);
  return launch_status();
}

template <class T>
std::string layernorm_bwd_cuda(const LayerNormArgs<T>& args, int device) {
  if (args.cols == 0 || (args.rows == 0 && !args.dweight && !args.dbias)) return {};  // nothing to write
  if (auto e = use_device(device); !e.empty()) return e;
  ColumnSumArgs<T> sums;
  sums.rows = args.rows, sums.cols = args.cols;
  sums.x = args.x, sums.g = args.g, sums.mean = args.mean, sums.rstd = args.rstd;
  sums.dweight = args.dweight, sums.dbias = args.dbias;
  if (auto e = launch_column_sums(sums); !e.empty()) return e;
  if (args.rows > 0)
    layernorm_bwd_kernel<T><<<row_blocks(args.rows), row_threads(args.cols)>>>(args);
  return launch_status();
}

template std::string rmsnorm_fwd_cuda<float>(const RmsNormArgs<float>&, int);
template std::string rmsnorm_fwd_cuda<double>(const RmsNormArgs<double>&, int);
template std::string rmsnorm_bwd_cuda<float>(const RmsNormArgs<float>&, int);
template std::string rmsnorm_bwd_cuda<double>(const RmsNormArgs<double>&, int);
template std::string layernorm_fwd_cuda<float>(const LayerNormArgs<float>&, int);
template std::string layernorm_fwd_cuda<double>(const LayerNormArgs<double>&, int);
template std::string layernorm_bwd_cuda<float>(const LayerNormArgs<float>&, int);
template std::string layernorm_bwd_cuda<double>(const LayerNormArgs<double>&, int);

}  // namespace strata::kernels::cuda
