#include "kernels/cuda/softmax.h"

#include <cmath>
#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

// x, out: [rows, cols]. One block per row; the threads stride over the columns. Three
// passes over x (max, sum of exp, write) rather than staging exp(x - max) in out: the
// reads hit the cache and the row is written once.
template <class T>
__global__ void softmax_fwd_kernel(SoftmaxArgs<T> a, bool is_log) {
  __shared__ T scratch[kWarp];
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const T* x = a.x + r * a.cols;
    T* y = a.out + r * a.cols;
    T m = T(-INFINITY);
    for (std::int64_t i = threadIdx.x; i < a.cols; i += blockDim.x) m = x[i] > m ? x[i] : m;
    m = block_max(m, scratch);
    T sum = 0;
    for (std::int64_t i = threadIdx.x; i < a.cols; i += blockDim.x) sum += exp(x[i] - m);
    sum = block_sum(sum, scratch);
    if (is_log) {
      const T lse = m + log(sum);
      for (std::int64_t i = threadIdx.x; i < a.cols; i += blockDim.x) y[i] = x[i] - lse;
    } else {
      const T inv = T(1) / sum;
      for (std::int64_t i = threadIdx.x; i < a.cols; i += blockDim.x) y[i] = exp(x[i] - m) * inv;
    }
  }
}

// y (the forward's output), g, dx: [rows, cols]; dx may alias g (or y): every thread has
// read the whole row for the reduction before block_sum returns, and afterwards each
// element is read before it is written by the same thread.
template <class T>
__global__ void softmax_bwd_kernel(SoftmaxArgs<T> a, bool is_log) {
  __shared__ T scratch[kWarp];
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const T* y = a.x + r * a.cols;
    const T* g = a.g + r * a.cols;
    T* dx = a.out + r * a.cols;
    T s = 0;  // is_log: sum(g); else <g, y>
    for (std::int64_t i = threadIdx.x; i < a.cols; i += blockDim.x) s += is_log ? g[i] : g[i] * y[i];
    s = block_sum(s, scratch);
    for (std::int64_t i = threadIdx.x; i < a.cols; i += blockDim.x) {
      const T gi = g[i], yi = y[i];
      dx[i] = is_log ? gi - exp(yi) * s : yi * (gi - s);
    }
  }
}

}  // namespace

template <class T>
std::string softmax_fwd_cuda(const SoftmaxArgs<T>& args, bool is_log, int device) {
  if (args.rows == 0 || args.cols == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  softmax_fwd_kernel<T><<<row_blocks(args.rows), row_threads(args.cols)>>>(args, is_log);
  return launch_status();
}

template <class T>
std::string softmax_bwd_cuda(const SoftmaxArgs<T>& args, bool is_log, int device) {
  if (args.rows == 0 || args.cols == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  softmax_bwd_kernel<T><<<row_blocks(args.rows), row_threads(args.cols)>>>(args, is_log);
  return launch_status();
}

template std::string softmax_fwd_cuda<float>(const SoftmaxArgs<float>&, bool, int);
template std::string softmax_fwd_cuda<double>(const SoftmaxArgs<double>&, bool, int);
template std::string softmax_bwd_cuda<float>(const SoftmaxArgs<float>&, bool, int);
template std::string softmax_bwd_cuda<double>(const SoftmaxArgs<double>&, bool, int);

}  // namespace strata::kernels::cuda
