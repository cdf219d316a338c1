// Pointwise functions and their derivatives on CUDA: the scalar formulas of
// kernels/unary_math.h, the same expressions as the CPU's f64 reference path.
#include <cstdint>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/unary_math.h"

namespace strata::kernels::cuda {

namespace {

// y[i] = f(x[i]); the op is the same for every thread, so its switch does not diverge.
template <class T>
__global__ void unary_fwd_kernel(UnaryOp op, const T* x, T* y, std::int64_t n, UnaryParams params) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) y[i] = unary_forward<T>(op, x[i], params);
}

// dx[i] = g[i] * f'(.) from saved[i] (x or y, per unary_bwd_uses_output).
template <class T>
__global__ void unary_bwd_kernel(UnaryOp op, const T* saved, const T* g, T* dx, std::int64_t n, UnaryParams params) {
  for (std::int64_t i = global_index(); i < n; i += grid_size())
    dx[i] = unary_backward<T>(op, g[i], saved[i], params);
}

}  // namespace

template <class T>
std::string unary_fwd_cuda(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& params, int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  unary_fwd_kernel<<<blocks_for(n), kThreads>>>(op, x, y, n, params);
  return launch_status();
}

template <class T>
std::string unary_bwd_cuda(UnaryOp op, const T* saved, const T* g, T* dx, std::int64_t n, const UnaryParams& params,
                           int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  unary_bwd_kernel<<<blocks_for(n), kThreads>>>(op, saved, g, dx, n, params);
  return launch_status();
}

template std::string unary_fwd_cuda<float>(UnaryOp, const float*, float*, std::int64_t, const UnaryParams&, int);
template std::string unary_fwd_cuda<double>(UnaryOp, const double*, double*, std::int64_t, const UnaryParams&, int);
template std::string unary_bwd_cuda<float>(UnaryOp, const float*, const float*, float*, std::int64_t,
                                           const UnaryParams&, int);
template std::string unary_bwd_cuda<double>(UnaryOp, const double*, const double*, double*, std::int64_t,
                                            const UnaryParams&, int);

}  // namespace strata::kernels::cuda
