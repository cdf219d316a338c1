#include "kernels/cpu/rope.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/rope.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

template <class T>
void rope_cpu(const RopeArgs<T>& a) {
  const std::int64_t half = a.rotary_dim / 2, d = a.head_dim;
  // cos/sin of every (position - offset, pair): [T, half], shared by all batches and heads.
  std::vector<T> cos_table(std::size_t(a.seq_len * half)), sin_table(cos_table.size());
  for (std::int64_t c = 0; c < half; ++c) {
    const double inv_freq = a.inv_freq ? a.inv_freq[c] : std::pow(a.theta, -2.0 * double(c) / double(a.rotary_dim));
    for (std::int64_t t = 0; t < a.seq_len; ++t) {
      const double angle = double(a.position_offset + t) * inv_freq;
      cos_table[t * half + c] = T(a.scale * std::cos(angle));
      sin_table[t * half + c] = T(a.scale * (a.inverse ? -std::sin(angle) : std::sin(angle)));
    }
  }
  // Pair c is (lo + c * step, lo + c * step + partner): rotate_half or interleaved.
  const std::int64_t step = a.interleaved ? 2 : 1, partner = a.interleaved ? 1 : half;
  parallel_rows(a.batch * a.seq_len, a.n_heads * d, [&](std::int64_t row) {
    const std::int64_t b = row / a.seq_len, t = row % a.seq_len;
    const std::int64_t p = a.positions ? a.positions[row] : t;
    const T* cs = cos_table.data() + p * half;
    const T* sn = sin_table.data() + p * half;
    for (std::int64_t h = 0; h < a.n_heads; ++h) {
      const T* x = a.x + b * a.x_stride_b + t * a.x_stride_t + h * d;
      T* y = a.out + (row * a.n_heads + h) * d;
      for (std::int64_t c = 0; c < half; ++c) {
        const std::int64_t i = c * step, j = i + partner;
        y[i] = x[i] * cs[c] - x[j] * sn[c];
        y[j] = x[j] * cs[c] + x[i] * sn[c];
      }
      std::copy(x + a.rotary_dim, x + d, y + a.rotary_dim);
    }
  });
}

STRATA_KERNEL_TARGETS(rope_cpu, RopeArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(rope_cpu, RopeArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
