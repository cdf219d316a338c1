#include "kernels/cpu/adamw.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/adamw.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cmath>

#include "kernels/cpu/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {
template <class T>
void step_impl(const AdamWArgs& a, T* param, const T* grad, T* m, T* v) {
  const double c1 = 1.0 - std::pow(a.beta1, double(a.step));
  const double c2 = 1.0 - std::pow(a.beta2, double(a.step));
  const T decay = T(1.0 - a.lr * a.weight_decay);
  const T b1 = T(a.beta1), b2 = T(a.beta2), one_b1 = T(1.0 - a.beta1), one_b2 = T(1.0 - a.beta2);
  const T step_size = T(a.lr / c1);
  const T inv_sqrt_c2 = T(1.0 / std::sqrt(c2));
  const T eps = T(a.eps);
  parallel_for(a.n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
#pragma omp simd
    for (std::int64_t i = begin; i < end; ++i) {
      const T g = grad[i];
      const T mi = b1 * m[i] + one_b1 * g;
      const T vi = b2 * v[i] + one_b2 * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i] * decay - step_size * mi / (std::sqrt(vi) * inv_sqrt_c2 + eps);
    }
  });
}
}  // namespace

void adamw_f32(const AdamWArgs& a, float* param, const float* grad, float* m, float* v) {
  step_impl(a, param, grad, m, v);
}
void adamw_f64(const AdamWArgs& a, double* param, const double* grad, double* m, double* v) {
  step_impl(a, param, grad, m, v);
}

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

HWY_EXPORT(adamw_f32);
HWY_EXPORT(adamw_f64);

void adamw_step(const AdamWArgs& a, float* param, const float* grad, float* m, float* v) {
  HWY_DYNAMIC_DISPATCH(adamw_f32)(a, param, grad, m, v);
}
void adamw_step(const AdamWArgs& a, double* param, const double* grad, double* m, double* v) {
  HWY_DYNAMIC_DISPATCH(adamw_f64)(a, param, grad, m, v);
}

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
