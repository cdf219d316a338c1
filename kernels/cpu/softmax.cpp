#include "kernels/cpu/softmax.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/softmax.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/row_reductions-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

template <class T>
void softmax_fwd_cpu(const SoftmaxArgs<T>& a) {
  parallel_rows(a.rows, a.cols, [&](std::int64_t r) {
    const T* x = a.x + r * a.cols;
    T* y = a.out + r * a.cols;
    const T m = row_max(x, a.cols);
    const T inv = T(1) / row_sum_exp(x, m, y, a.cols);
    for (std::int64_t i = 0; i < a.cols; ++i) y[i] *= inv;
  });
}

template <class T>
void log_softmax_fwd_cpu(const SoftmaxArgs<T>& a) {
  parallel_rows(a.rows, a.cols, [&](std::int64_t r) {
    const T* x = a.x + r * a.cols;
    const T m = row_max(x, a.cols);
    const T lse = m + std::log(row_sum_exp(x, m, static_cast<T*>(nullptr), a.cols));
    row_affine(x, T(1), -lse, a.out + r * a.cols, a.cols);
  });
}

template <class T>
void softmax_bwd_cpu(const SoftmaxArgs<T>& a) {
  parallel_rows(a.rows, a.cols, [&](std::int64_t r) {
    const T* y = a.x + r * a.cols;
    const T* g = a.g + r * a.cols;
    T* dx = a.out + r * a.cols;
    const T dot = row_dot(g, y, a.cols);
    for (std::int64_t i = 0; i < a.cols; ++i) dx[i] = y[i] * (g[i] - dot);
  });
}

template <class T>
void log_softmax_bwd_cpu(const SoftmaxArgs<T>& a) {
  parallel_for(a.rows, row_grain(a.cols), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<T> p(std::size_t(a.cols));
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* y = a.x + r * a.cols;
      const T* g = a.g + r * a.cols;
      T* dx = a.out + r * a.cols;
      const T gsum = row_sum(g, a.cols);
      row_sum_exp(y, T(0), p.data(), a.cols);  // p = softmax = exp(log_softmax)
      for (std::int64_t i = 0; i < a.cols; ++i) dx[i] = g[i] - p[std::size_t(i)] * gsum;
    }
  });
}

STRATA_KERNEL_TARGETS(softmax_fwd_cpu, SoftmaxArgs)
STRATA_KERNEL_TARGETS(log_softmax_fwd_cpu, SoftmaxArgs)
STRATA_KERNEL_TARGETS(softmax_bwd_cpu, SoftmaxArgs)
STRATA_KERNEL_TARGETS(log_softmax_bwd_cpu, SoftmaxArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(softmax_fwd_cpu, SoftmaxArgs)
STRATA_KERNEL_DISPATCH(log_softmax_fwd_cpu, SoftmaxArgs)
STRATA_KERNEL_DISPATCH(softmax_bwd_cpu, SoftmaxArgs)
STRATA_KERNEL_DISPATCH(log_softmax_bwd_cpu, SoftmaxArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
