#include "kernels/cuda/swiglu.h"

#include <cmath>
#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/unary_math.h"

namespace strata::kernels::cuda {

namespace {

using kernels::sigmoid_stable;

// gate, up: [rows, H] at row stride in_stride; out: [rows, H] contiguous. Elementwise,
// a grid-stride loop over the rows * H outputs.
template <class T>
__global__ void swiglu_fwd_kernel(SwigluArgs<T> a) {
  const std::int64_t n = a.rows * a.cols;
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    const std::int64_t r = i / a.cols, c = i - r * a.cols;
    const std::int64_t in = r * a.in_stride + c;
    const T gate = a.gate[in];
    a.out[i] = gate * sigmoid_stable(gate) * a.up[in];
  }
}

// g: [rows, H] contiguous; dgate, dup at the inputs' row stride (dup may be the other half
// of dgate's buffer, for the fused layout). Every input is read before either write.
template <class T>
__global__ void swiglu_bwd_kernel(SwigluArgs<T> a) {
  const std::int64_t n = a.rows * a.cols;
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    const std::int64_t r = i / a.cols, c = i - r * a.cols;
    const std::int64_t in = r * a.in_stride + c;
    const T gate = a.gate[in], up = a.up[in], g = a.g[i];
    const T s = sigmoid_stable(gate);
    const T dgate = g * up * s * (T(1) + gate * (T(1) - s));
    a.dup[in] = g * gate * s;
    a.dgate[in] = dgate;
  }
}

}  // namespace

template <class T>
std::string swiglu_fwd_cuda(const SwigluArgs<T>& args, int device) {
  const std::int64_t n = args.rows * args.cols;
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  swiglu_fwd_kernel<T><<<blocks_for(n), kThreads>>>(args);
  return launch_status();
}

template <class T>
std::string swiglu_bwd_cuda(const SwigluArgs<T>& args, int device) {
  const std::int64_t n = args.rows * args.cols;
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  swiglu_bwd_kernel<T><<<blocks_for(n), kThreads>>>(args);
  return launch_status();
}

template std::string swiglu_fwd_cuda<float>(const SwigluArgs<float>&, int);
template std::string swiglu_fwd_cuda<double>(const SwigluArgs<double>&, int);
template std::string swiglu_bwd_cuda<float>(const SwigluArgs<float>&, int);
template std::string swiglu_bwd_cuda<double>(const SwigluArgs<double>&, int);

}  // namespace strata::kernels::cuda
