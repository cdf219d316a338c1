#include "kernels/cpu/layernorm.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/layernorm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <array>
#include <cmath>

#include "kernels/cpu/column_sums.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

template <class T>
void layernorm_fwd_cpu(const LayerNormArgs<T>& a) {
  const std::int64_t D = a.cols;
  parallel_rows(a.rows, D, [&](std::int64_t r) {
    const T* __restrict x = a.x + r * D;
    T* __restrict y = a.y + r * D;
    // statistics in f64 and two passes: with |mean| >> std, f32 sums or
    // E[x^2] - E[x]^2 would lose the variance
    double sum = 0;
    for (std::int64_t i = 0; i < D; ++i) sum += double(x[i]);
    const double mean = sum / double(D);
    double var = 0;
    for (std::int64_t i = 0; i < D; ++i) var += (double(x[i]) - mean) * (double(x[i]) - mean);
    const double rstd = 1.0 / std::sqrt(var / double(D) + double(a.eps));
    a.mean[r] = T(mean);
    a.rstd[r] = T(rstd);
    for (std::int64_t i = 0; i < D; ++i) {
      const T xhat = T((double(x[i]) - mean) * rstd);
      y[i] = (a.weight ? xhat * a.weight[i] : xhat) + (a.bias ? a.bias[i] : T(0));
    }
  });
}

template <class T>
void layernorm_bwd_cpu(const LayerNormArgs<T>& a) {
  const std::int64_t D = a.cols;
  auto row = [&](std::int64_t r, const std::array<T*, 2>& acc) {
    const T* __restrict x = a.x + r * D;
    const T* __restrict g = a.g + r * D;
    T* __restrict dx = a.dx + r * D;
    const T mean = a.mean[r], rstd = a.rstd[r];
    T sum_gw = 0, sum_gw_xhat = 0;
    for (std::int64_t i = 0; i < D; ++i) {
      const T xhat = (x[i] - mean) * rstd;
      const T gw = a.weight ? g[i] * a.weight[i] : g[i];
      sum_gw += gw;
      sum_gw_xhat += gw * xhat;
      if (acc[0]) acc[0][i] += g[i] * xhat;
      if (acc[1]) acc[1][i] += g[i];
    }
    const T mean_gw = sum_gw / T(D), mean_gw_xhat = sum_gw_xhat / T(D);
    for (std::int64_t i = 0; i < D; ++i) {
      const T xhat = (x[i] - mean) * rstd;
      const T gw = a.weight ? g[i] * a.weight[i] : g[i];
      dx[i] = rstd * (gw - mean_gw - xhat * mean_gw_xhat);
    }
  };
  rows_with_column_sums<T, 2>(a.rows, D, row, {a.dweight, a.dbias});
}

STRATA_KERNEL_TARGETS(layernorm_fwd_cpu, LayerNormArgs)
STRATA_KERNEL_TARGETS(layernorm_bwd_cpu, LayerNormArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(layernorm_fwd_cpu, LayerNormArgs)
STRATA_KERNEL_DISPATCH(layernorm_bwd_cpu, LayerNormArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
