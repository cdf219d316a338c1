#include "kernels/cpu/cross_entropy.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/cross_entropy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/row_reductions-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

template <class T>
void cross_entropy_fwd_cpu(const CrossEntropyArgs<T>& a) {
  const T eps = a.label_smoothing;
  parallel_rows(a.rows, a.classes, [&](std::int64_t r) {
    const T* x = a.logits + r * a.classes;
    const T m = row_max(x, a.classes);
    const T lse = m + std::log(row_sum_exp(x, m, static_cast<T*>(nullptr), a.classes));
    a.lse[r] = lse;
    const std::int64_t t = a.targets[r];
    if (t == a.ignore_index) {
      a.loss[r] = 0;
      return;
    }
    T loss = lse - x[t];
    if (eps != T(0)) loss = (T(1) - eps) * loss + eps * (lse - row_sum(x, a.classes) / T(a.classes));
    a.loss[r] = loss;
  });
}

template <class T>
void cross_entropy_bwd_cpu(const CrossEntropyArgs<T>& a) {
  const T eps = a.label_smoothing;
  const T uniform = eps / T(a.classes);
  parallel_rows(a.rows, a.classes, [&](std::int64_t r) {
    T* dx = a.dlogits + r * a.classes;
    const std::int64_t t = a.targets[r];
    if (t == a.ignore_index) {
      std::fill(dx, dx + a.classes, T(0));
      return;
    }
    const T g = a.grad[r * a.grad_stride];
    row_sum_exp(a.logits + r * a.classes, a.lse[r], dx, a.classes);  // dx = softmax
    for (std::int64_t i = 0; i < a.classes; ++i) dx[i] = (dx[i] - uniform) * g;
    dx[t] -= (T(1) - eps) * g;
  });
}

STRATA_KERNEL_TARGETS(cross_entropy_fwd_cpu, CrossEntropyArgs)
STRATA_KERNEL_TARGETS(cross_entropy_bwd_cpu, CrossEntropyArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(cross_entropy_fwd_cpu, CrossEntropyArgs)
STRATA_KERNEL_DISPATCH(cross_entropy_bwd_cpu, CrossEntropyArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
