#include "kernels/cpu/causal_conv1d.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/causal_conv1d.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {

constexpr std::int64_t kTimeBlock = 64;

// Row s of xp = [initial; x] for sequence b (s in [0, K-1+T)); null for a zero row.
template <class T>
const T* padded_row(const CausalConv1dArgs<T>& a, std::int64_t b, std::int64_t s) {
  const std::int64_t K1 = a.kernel_size - 1, D = a.channels;
  if (s >= K1) return a.x + (b * a.seq_len + (s - K1)) * D;
  return a.initial ? a.initial + (b * K1 + s) * D : nullptr;
}

// Whether output t of sequence b reads row s of xp = [initial; x]: always, unless packed
// documents put s (input s - (K-1)) before t's document start; a row's first document
// (start 0) reads the initial state.
template <class T>
bool reads(const CausalConv1dArgs<T>& a, std::int64_t b, std::int64_t t, std::int64_t s) {
  if (!a.seq_start) return true;
  const std::int64_t start = a.seq_start[b * a.seq_len + t];
  return start == 0 || s - (a.kernel_size - 1) >= start;
}

// Calls fn(b, t0, t1) over (batch, time block) items of a [B, rows] problem.
template <class Fn>
void for_time_blocks(std::int64_t batch, std::int64_t rows, std::int64_t channels, std::int64_t taps, Fn&& fn) {
  const std::int64_t blocks = (rows + kTimeBlock - 1) / kTimeBlock;
  const std::int64_t work = std::max<std::int64_t>(1, kTimeBlock * channels * taps);
  parallel_for(batch * blocks, std::max<std::int64_t>(1, kParallelGrain / work), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t item = i0; item < i1; ++item) {
      const std::int64_t b = item / blocks, t0 = (item % blocks) * kTimeBlock;
      fn(b, t0, std::min(rows, t0 + kTimeBlock));
    }
  });
}

// weight [D, K] -> [K, D], so that the per-tap loops over channels read it contiguously
// and vectorise (a stride-K read of the weight kept them scalar).
template <class T>
std::vector<T> taps_major(const T* weight, std::int64_t D, std::int64_t K) {
  std::vector<T> out(std::size_t(K * D));
  for (std::int64_t d = 0; d < D; ++d)
    for (std::int64_t j = 0; j < K; ++j) out[std::size_t(j * D + d)] = weight[d * K + j];
  return out;
}

}  // namespace

template <class T>
void causal_conv1d_fwd_cpu(const CausalConv1dArgs<T>& a) {
  const std::int64_t D = a.channels, K = a.kernel_size;
  const std::vector<T> weight = taps_major(a.weight, D, K);
  for_time_blocks(a.batch, a.seq_len, D, K, [&](std::int64_t b, std::int64_t t0, std::int64_t t1) {
    for (std::int64_t t = t0; t < t1; ++t) {
      T* y = a.y + (b * a.seq_len + t) * D;
      if (a.bias)
        std::copy_n(a.bias, D, y);
      else
        std::fill_n(y, D, T(0));
      for (std::int64_t j = 0; j < K; ++j) {
        const T* x = padded_row(a, b, t + j);
        if (!x || !reads(a, b, t, t + j)) continue;
        const T* w = weight.data() + j * D;
#pragma omp simd
        for (std::int64_t d = 0; d < D; ++d) y[d] += w[d] * x[d];
      }
    }
  });
}

template <class T>
void causal_conv1d_bwd_cpu(const CausalConv1dArgs<T>& a) {
  const std::int64_t D = a.channels, K = a.kernel_size, K1 = K - 1, T_ = a.seq_len;
  const std::vector<T> weight = taps_major(a.weight, D, K);
  // d xp[s] = sum_j w[:, j] * dy[s - j] over 0 <= s - j < T; rows s < K-1 go to dinitial.
  for_time_blocks(a.batch, K1 + T_, D, K, [&](std::int64_t b, std::int64_t s0, std::int64_t s1) {
    for (std::int64_t s = s0; s < s1; ++s) {
      T* out = s >= K1 ? a.dx + (b * T_ + (s - K1)) * D : (a.dinitial ? a.dinitial + (b * K1 + s) * D : nullptr);
      if (!out) continue;
      std::fill_n(out, D, T(0));
      for (std::int64_t j = std::max<std::int64_t>(0, s - T_ + 1); j <= std::min(s, K1); ++j) {
        if (!reads(a, b, s - j, s)) continue;
        const T* dy = a.dy + (b * T_ + (s - j)) * D;
        const T* w = weight.data() + j * D;
#pragma omp simd
        for (std::int64_t d = 0; d < D; ++d) out[d] += w[d] * dy[d];
      }
    }
  });
  if (!a.dweight && !a.dbias) return;
  // dw[d, j] = sum_{b, t} dy[b, t, d] xp[b, t + j, d];  dbias[d] = sum_{b, t} dy[b, t, d]
  parallel_column_blocks(1, D, a.batch * T_ * (K + 1), [&](std::int64_t, std::int64_t c0, std::int64_t c1) {
    const std::int64_t width = c1 - c0;
    // [K + 1, width] accumulators, tap-major so the inner loop runs over contiguous channels
    // (row K is the bias gradient); written to [D, K] at the end.
    std::vector<T> acc(std::size_t((K + 1) * width), T(0));
    for (std::int64_t b = 0; b < a.batch; ++b)
      for (std::int64_t t = 0; t < T_; ++t) {
        const T* dy = a.dy + (b * T_ + t) * D + c0;
        T* db = acc.data() + K * width;
        for (std::int64_t d = 0; d < width; ++d) db[d] += dy[d];
        for (std::int64_t j = 0; j < K; ++j) {
          const T* x = padded_row(a, b, t + j);
          if (!x || !reads(a, b, t, t + j)) continue;
          x += c0;
          T* dw = acc.data() + j * width;
          for (std::int64_t d = 0; d < width; ++d) dw[d] += dy[d] * x[d];
        }
      }
    for (std::int64_t d = 0; d < width; ++d) {
      if (a.dbias) a.dbias[c0 + d] = acc[std::size_t(K * width + d)];
      if (a.dweight)
        for (std::int64_t j = 0; j < K; ++j) a.dweight[(c0 + d) * K + j] = acc[std::size_t(j * width + d)];
    }
  });
}

STRATA_KERNEL_TARGETS(causal_conv1d_fwd_cpu, CausalConv1dArgs)
STRATA_KERNEL_TARGETS(causal_conv1d_bwd_cpu, CausalConv1dArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(causal_conv1d_fwd_cpu, CausalConv1dArgs)
STRATA_KERNEL_DISPATCH(causal_conv1d_bwd_cpu, CausalConv1dArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
