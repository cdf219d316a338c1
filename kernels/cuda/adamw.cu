// One AdamW step on CUDA: twin of kernels/cpu/adamw.cpp. The step's scalars are computed
// on the host in double and rounded to T exactly as the CPU does; the elementwise update
// is the CPU's expression.
#include <cmath>
#include <cstdint>

#include "kernels/cuda/adamw.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

template <class T>
struct AdamWScalars {
  T decay, b1, b2, one_b1, one_b2, step_size, inv_sqrt_c2, eps;
};

// param, grad, m, v: [n].
template <class T>
__global__ void adamw_kernel(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ m,
                             T* __restrict__ v, std::int64_t n, AdamWScalars<T> s) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    const T g = grad[i];
    const T mi = s.b1 * m[i] + s.one_b1 * g;
    const T vi = s.b2 * v[i] + s.one_b2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * s.decay - s.step_size * mi / (std::sqrt(vi) * s.inv_sqrt_c2 + s.eps);
  }
}

}  // namespace

template <class T>
std::string adamw_cuda(const AdamWArgs& a, T* param, const T* grad, T* m, T* v, int device) {
  if (a.n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  const double c1 = 1.0 - std::pow(a.beta1, double(a.step));
  const double c2 = 1.0 - std::pow(a.beta2, double(a.step));
  AdamWScalars<T> s;
  s.decay = T(1.0 - a.lr * a.weight_decay);
  s.b1 = T(a.beta1);
  s.b2 = T(a.beta2);
  s.one_b1 = T(1.0 - a.beta1);
  s.one_b2 = T(1.0 - a.beta2);
  s.step_size = T(a.lr / c1);
  s.inv_sqrt_c2 = T(1.0 / std::sqrt(c2));
  s.eps = T(a.eps);
  adamw_kernel<<<blocks_for(a.n), kThreads>>>(param, grad, m, v, a.n, s);
  return launch_status();
}

template std::string adamw_cuda<float>(const AdamWArgs&, float*, const float*, float*, float*, int);
template std::string adamw_cuda<double>(const AdamWArgs&, double*, const double*, double*, double*, int);

}  // namespace strata::kernels::cuda
