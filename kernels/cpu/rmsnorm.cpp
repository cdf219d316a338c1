#include "kernels/cpu/rmsnorm.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/rmsnorm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <array>
#include <cmath>
#include <vector>

#include "kernels/cpu/column_sums.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/row_reductions-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

template <class T>
void rmsnorm_fwd_cpu(const RmsNormArgs<T>& a) {
  const std::int64_t D = a.cols;
  parallel_rows(a.rows, D, [&](std::int64_t r) {
    const T* __restrict x = a.x + r * D;
    T* __restrict y = a.y + r * D;
    const T rstd = T(1) / std::sqrt(row_dot(x, x, D) / T(D) + a.eps);
    a.rstd[r] = rstd;
    if (a.weight) {
      const T* __restrict w = a.weight;
      for (std::int64_t i = 0; i < D; ++i) y[i] = x[i] * rstd * w[i];
    } else {
      for (std::int64_t i = 0; i < D; ++i) y[i] = x[i] * rstd;
    }
  });
}

template <class T>
void rmsnorm_bwd_cpu(const RmsNormArgs<T>& a) {
  const std::int64_t D = a.cols;
  auto row = [&](std::int64_t r, const std::array<T*, 1>& acc) {
    const T* __restrict x = a.x + r * D;
    const T* __restrict g = a.g + r * D;
    T* __restrict dx = a.dx + r * D;
    const T rstd = a.rstd[r];
    // gw = g * w, staged in dx (overwritten below)
    if (a.weight) {
      for (std::int64_t i = 0; i < D; ++i) dx[i] = g[i] * a.weight[i];
    } else {
      for (std::int64_t i = 0; i < D; ++i) dx[i] = g[i];
    }
    const T c = row_dot(static_cast<const T*>(dx), x, D) * rstd * rstd / T(D);
    if (acc[0]) {
      T* __restrict dw = acc[0];
      for (std::int64_t i = 0; i < D; ++i) dw[i] += g[i] * x[i] * rstd;
    }
    for (std::int64_t i = 0; i < D; ++i) dx[i] = rstd * (dx[i] - x[i] * c);
  };
  rows_with_column_sums<T, 1>(a.rows, D, row, {a.dweight});
}

STRATA_KERNEL_TARGETS(rmsnorm_fwd_cpu, RmsNormArgs)
STRATA_KERNEL_TARGETS(rmsnorm_bwd_cpu, RmsNormArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(rmsnorm_fwd_cpu, RmsNormArgs)
STRATA_KERNEL_DISPATCH(rmsnorm_bwd_cpu, RmsNormArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
