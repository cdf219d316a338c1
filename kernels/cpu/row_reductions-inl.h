// Per-row building blocks shared by softmax, cross-entropy and the norms: max, sums,
// sum of exp(x - shift), dot products. f32 runs on the SIMD target's vectors with four
// running accumulators (at least 16 partial sums on every target: a 50K-long row keeps
// full f32 accuracy, and the adds pipeline); other types use a scalar loop. All are
// single-threaded (callers thread over rows). Per-target header: see vec_math-inl.h.

#if defined(STRATA_KERNELS_CPU_ROW_REDUCTIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef STRATA_KERNELS_CPU_ROW_REDUCTIONS_INL_H_
#undef STRATA_KERNELS_CPU_ROW_REDUCTIONS_INL_H_
#else
#define STRATA_KERNELS_CPU_ROW_REDUCTIONS_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/cpu/simd_io-inl.h"
#include "kernels/cpu/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace detail {

// Folds n floats of x (and y) into a vector with `step(acc, xv, yv)`, four accumulators
// wide, then combines them with `merge`; the partial last vector is padded with
// `x_fill`/`y_fill`.
template <class D, class Step, class Merge>
HWY_INLINE hn::Vec<D> fold_row(D d, const float* x, const float* y, std::int64_t n, hn::Vec<D> init, Step step,
                               Merge merge, float x_fill = 0.0f, float y_fill = 0.0f) {
  const std::int64_t N = std::int64_t(hn::Lanes(d));
  hn::Vec<D> a0 = init, a1 = init, a2 = init, a3 = init;
  const auto load = [&](const float* p, std::int64_t i) { return p ? hn::LoadU(d, p + i) : hn::Zero(d); };
  std::int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    a0 = step(a0, load(x, i), load(y, i));
    a1 = step(a1, load(x, i + N), load(y, i + N));
    a2 = step(a2, load(x, i + 2 * N), load(y, i + 2 * N));
    a3 = step(a3, load(x, i + 3 * N), load(y, i + 3 * N));
  }
  for (; i + N <= n; i += N) a0 = step(a0, load(x, i), load(y, i));
  if (i < n) {
    const std::size_t rest = std::size_t(n - i);
    a1 = step(a1, load_partial(d, x + i, rest, x_fill), y ? load_partial(d, y + i, rest, y_fill) : hn::Zero(d));
  }
  return merge(merge(a0, a1), merge(a2, a3));
}

}  // namespace detail

template <class T>
T row_max(const T* x, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    const hn::ScalableTag<float> d;
    const float lowest = -std::numeric_limits<float>::infinity();
    const auto max = [](auto a, auto b) { return hn::Max(a, b); };
    return vec::hmax(detail::fold_row(
        d, x, nullptr, n, hn::Set(d, lowest), [&](auto acc, auto xv, auto) { return max(acc, xv); }, max, lowest));
  } else {
    T m = -std::numeric_limits<T>::infinity();
    for (std::int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
    return m;
  }
}

template <class T>
T row_sum(const T* x, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    const hn::ScalableTag<float> d;
    const auto add = [](auto a, auto b) { return hn::Add(a, b); };
    return vec::hsum(detail::fold_row(
        d, x, nullptr, n, hn::Zero(d), [&](auto acc, auto xv, auto) { return add(acc, xv); }, add));
  } else {
    T s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += x[i];
    return s;
  }
}

template <class T>
T row_dot(const T* x, const T* y, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    const hn::ScalableTag<float> d;
    return vec::hsum(detail::fold_row(
        d, x, y, n, hn::Zero(d), [](auto acc, auto xv, auto yv) { return hn::MulAdd(xv, yv, acc); },
        [](auto a, auto b) { return hn::Add(a, b); }));
  } else {
    T s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += x[i] * y[i];
    return s;
  }
}

// sum_i exp(x[i] - shift); also writes exp(x[i] - shift) to out when out != nullptr.
template <class T>
T row_sum_exp(const T* x, T shift, T* out, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    const hn::ScalableTag<float> d;
    using V = hn::Vec<decltype(d)>;
    const std::int64_t N = std::int64_t(hn::Lanes(d));
    const V sh = hn::Set(d, shift);
    V s0 = hn::Zero(d), s1 = hn::Zero(d);
    std::int64_t i = 0;
    for (; i + 2 * N <= n; i += 2 * N) {
      const V e0 = vec::exp(hn::Sub(hn::LoadU(d, x + i), sh));
      const V e1 = vec::exp(hn::Sub(hn::LoadU(d, x + i + N), sh));
      if (out) hn::StoreU(e0, d, out + i), hn::StoreU(e1, d, out + i + N);
      s0 = hn::Add(s0, e0), s1 = hn::Add(s1, e1);
    }
    for (; i + N <= n; i += N) {
      const V e = vec::exp(hn::Sub(hn::LoadU(d, x + i), sh));
      if (out) hn::StoreU(e, d, out + i);
      s0 = hn::Add(s0, e);
    }
    if (i < n) {
      const std::size_t rest = std::size_t(n - i);
      const V e = hn::IfThenElseZero(hn::FirstN(d, rest), vec::exp(hn::Sub(load_partial(d, x + i, rest), sh)));
      if (out) store_partial(d, e, out + i, rest);
      s1 = hn::Add(s1, e);
    }
    return vec::hsum(hn::Add(s0, s1));
  } else {
    T s = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const T e = std::exp(x[i] - shift);
      if (out) out[i] = e;
      s += e;
    }
    return s;
  }
}

// out[i] = x[i] * factor + offset
template <class T>
void row_affine(const T* x, T factor, T offset, T* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] * factor + offset;
}

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
