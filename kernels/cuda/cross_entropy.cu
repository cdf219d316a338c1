#include "kernels/cuda/cross_entropy.h"

#include <cmath>
#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

// logits: [rows, classes]; targets, loss, lse: [rows]. One block per row; the threads
// stride over the classes (up to the vocabulary size), two passes: max, then the sum of
// exp(x - max) and, with label smoothing, the sum of x.
template <class T>
__global__ void cross_entropy_fwd_kernel(CrossEntropyArgs<T> a) {
  __shared__ T scratch[kWarp];
  const T eps = a.label_smoothing;
  const bool smooth = eps != T(0);
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const T* x = a.logits + r * a.classes;
    T m = T(-INFINITY);
    for (std::int64_t i = threadIdx.x; i < a.classes; i += blockDim.x) m = x[i] > m ? x[i] : m;
    m = block_max(m, scratch);
    T sum_exp = 0, sum_x = 0;
    for (std::int64_t i = threadIdx.x; i < a.classes; i += blockDim.x) {
      sum_exp += exp(x[i] - m);
      if (smooth) sum_x += x[i];
    }
    sum_exp = block_sum(sum_exp, scratch);
    if (smooth) sum_x = block_sum(sum_x, scratch);  // `smooth` is the same in the whole block
    if (threadIdx.x == 0) {
      const T lse = m + log(sum_exp);
      a.lse[r] = lse;
      const std::int64_t t = a.targets[r];
      T loss = 0;
      if (t != a.ignore_index) {
        loss = lse - x[t];
        if (smooth) loss = (T(1) - eps) * loss + eps * (lse - sum_x / T(a.classes));
      }
      a.loss[r] = loss;
    }
  }
}

// logits, dlogits: [rows, classes]; targets, lse: [rows]; grad: [rows] (grad_stride 1) or
// [1] (grad_stride 0). dlogits = (softmax - eps / classes - (1 - eps) onehot(t)) * grad,
// 0 in ignored rows. The target's term is folded into the single write of its element.
template <class T>
__global__ void cross_entropy_bwd_kernel(CrossEntropyArgs<T> a) {
  const T eps = a.label_smoothing;
  const T uniform = eps / T(a.classes);
  for (std::int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    T* dx = a.dlogits + r * a.classes;
    const std::int64_t t = a.targets[r];
    if (t == a.ignore_index) {
      for (std::int64_t i = threadIdx.x; i < a.classes; i += blockDim.x) dx[i] = T(0);
      continue;
    }
    const T* x = a.logits + r * a.classes;
    const T g = a.grad[r * a.grad_stride];
    const T lse = a.lse[r];
    for (std::int64_t i = threadIdx.x; i < a.classes; i += blockDim.x) {
      T d = (exp(x[i] - lse) - uniform) * g;
      if (i == t) d -= (T(1) - eps) * g;
      dx[i] = d;
    }
  }
}

}  // namespace

template <class T>
std::string cross_entropy_fwd_cuda(const CrossEntropyArgs<T>& args, int device) {
  if (args.rows == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  cross_entropy_fwd_kernel<T><<<row_blocks(args.rows), row_threads(args.classes)>>>(args);
  return launch_status();
}

template <class T>
std::string cross_entropy_bwd_cuda(const CrossEntropyArgs<T>& args, int device) {
  if (args.rows == 0 || args.classes == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  cross_entropy_bwd_kernel<T><<<row_blocks(args.rows), row_threads(args.classes)>>>(args);
  return launch_status();
}

template std::string cross_entropy_fwd_cuda<float>(const CrossEntropyArgs<float>&, int);
template std::string cross_entropy_fwd_cuda<double>(const CrossEntropyArgs<double>&, int);
template std::string cross_entropy_bwd_cuda<float>(const CrossEntropyArgs<float>&, int);
template std::string cross_entropy_bwd_cuda<double>(const CrossEntropyArgs<double>&, int);

}  // namespace strata::kernels::cuda
