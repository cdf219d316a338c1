#include "kernels/cpu/reduce.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/reduce.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/column_sums.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {

constexpr std::int64_t kRowBlock = 4096;  // elements summed in T before joining the f64 total

// sum of x[0..n) in fixed blocks; each block in T with 8 independent accumulators
template <class T>
double sum_block(const T* __restrict x, std::int64_t n) {
  T acc[8] = {};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += x[i + l];
  T tail = 0;
  for (; i < n; ++i) tail += x[i];
  return double((acc[0] + acc[4]) + (acc[1] + acc[5])) + double((acc[2] + acc[6]) + (acc[3] + acc[7])) + double(tail);
}

template <class T>
T sum_row(const T* x, std::int64_t n) {
  double total = 0;
  for (std::int64_t b = 0; b < n; b += kRowBlock) total += sum_block(x + b, std::min(kRowBlock, n - b));
  return T(total);
}

// out[c] = sum_r x[r, c] for one [R, C] slab.
template <class T>
void sum_columns(const T* x, T* out, std::int64_t rows, std::int64_t cols) {
  rows_with_column_sums<T, 1>(rows, cols,
                              [&](std::int64_t r, const std::array<T*, 1>& acc) {
                                const T* __restrict row = x + r * cols;
                                T* __restrict p = acc[0];
                                for (std::int64_t c = 0; c < cols; ++c) p[c] += row[c];
                              },
                              {out});
}

}  // namespace

template <class T>
void sum_cpu(const SumArgs<T>& a) {
  const std::int64_t A = a.outer, R = a.reduced, C = a.inner;
  if (A * C == 0) return;
  if (R == 0) {
    std::fill(a.out, a.out + A * C, T(0));
    return;
  }
  if (C == 1) {
    if (A == 1) {  // one long row: fixed blocks in parallel, joined in order
      const std::int64_t blocks = fixed_blocks(R, kRowBlock);
      std::vector<double> partial(static_cast<std::size_t>(blocks));
      parallel_for(blocks, 4, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b)
          partial[std::size_t(b)] = sum_block(a.x + b * kRowBlock, std::min(kRowBlock, R - b * kRowBlock));
      });
      double total = 0;
      for (double p : partial) total += p;
      a.out[0] = T(total);
      return;
    }
    parallel_for(A, std::max<std::int64_t>(1, (1 << 15) / R), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) a.out[i] = sum_row(a.x + i * R, R);
    });
    return;
  }
  if (A > 1 && R * C <= (1 << 14)) {  // many small slabs: one slab per task
    parallel_for(A, std::max<std::int64_t>(1, (1 << 15) / (R * C)), [&](std::int64_t i0, std::int64_t i1) {
      std::vector<double> acc(static_cast<std::size_t>(C));
      for (std::int64_t i = i0; i < i1; ++i) {
        std::fill(acc.begin(), acc.end(), 0.0);
        const T* slab = a.x + i * R * C;
        for (std::int64_t r = 0; r < R; ++r)
          for (std::int64_t c = 0; c < C; ++c) acc[std::size_t(c)] += double(slab[r * C + c]);
        for (std::int64_t c = 0; c < C; ++c) a.out[i * C + c] = T(acc[std::size_t(c)]);
      }
    });
    return;
  }
  for (std::int64_t i = 0; i < A; ++i) sum_columns(a.x + i * R * C, a.out + i * C, R, C);
}

STRATA_KERNEL_TARGETS(sum_cpu, SumArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(sum_cpu, SumArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
