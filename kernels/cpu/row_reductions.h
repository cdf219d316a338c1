#pragma once
// Per-row building blocks shared by softmax, cross-entropy and the norms: max, sums,
// sum of exp(x - shift), dot products. f32 uses AVX2 with masked tails; other types a
// scalar loop. All are single-threaded (callers thread over rows).
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/cpu/vec_math.h"

namespace strata::kernels::cpu {

namespace detail {
// Eight running sums combined as vec::hsum combines the AVX2 lanes, for the portable f32
// path: one running f32 sum over a 50K-long row loses ~1e-5 relative; eight keep the
// vector path's accuracy (test_cross_entropy's large-vocabulary case).
struct Lanes8 {
  float s[8] = {};
  void add(std::int64_t i, float v) { s[i & 7] += v; }
  float total() const { return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])); }
};
}  // namespace detail

#if defined(__AVX2__) && defined(__FMA__)
namespace detail {
// Lane mask selecting the first `rest` (< 8) lanes.
inline __m256i tail_mask(std::int64_t rest) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(rest)), lanes);
}
}  // namespace detail
#endif

template <class T>
T row_max(const T* x, std::int64_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    if (i < n) {
      const __m256i mask = detail::tail_mask(n - i);
      const __m256 v = _mm256_maskload_ps(x + i, mask);
      m = _mm256_max_ps(m, _mm256_blendv_ps(m, v, _mm256_castsi256_ps(mask)));
    }
    return vec::hmax(m);
  }
#endif
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

template <class T>
T row_sum(const T* x, std::int64_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    __m256 s = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
    if (i < n) s = _mm256_add_ps(s, _mm256_maskload_ps(x + i, detail::tail_mask(n - i)));
    return vec::hsum(s);
  }
#endif
  if constexpr (std::is_same_v<T, float>) {
    detail::Lanes8 lanes;
    for (std::int64_t i = 0; i < n; ++i) lanes.add(i, x[i]);
    return lanes.total();
  }
  T s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += x[i];
  return s;
}

template <class T>
T row_dot(const T* x, const T* y, std::int64_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    __m256 s = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s);
    if (i < n) {
      const __m256i mask = detail::tail_mask(n - i);
      s = _mm256_fmadd_ps(_mm256_maskload_ps(x + i, mask), _mm256_maskload_ps(y + i, mask), s);
    }
    return vec::hsum(s);
  }
#endif
  if constexpr (std::is_same_v<T, float>) {
    detail::Lanes8 lanes;
    for (std::int64_t i = 0; i < n; ++i) lanes.add(i, x[i] * y[i]);
    return lanes.total();
  }
  T s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

// sum_i exp(x[i] - shift); also writes exp(x[i] - shift) to out when out != nullptr.
template <class T>
T row_sum_exp(const T* x, T shift, T* out, std::int64_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    const __m256 sh = _mm256_set1_ps(shift);
    __m256 s = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 e = vec::exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
      if (out) _mm256_storeu_ps(out + i, e);
      s = _mm256_add_ps(s, e);
    }
    if (i < n) {
      const __m256i mask = detail::tail_mask(n - i);
      __m256 e = vec::exp(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), sh));
      e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
      if (out) _mm256_maskstore_ps(out + i, mask, e);
      s = _mm256_add_ps(s, e);
    }
    return vec::hsum(s);
  }
#endif
  if constexpr (std::is_same_v<T, float>) {
    detail::Lanes8 lanes;
    for (std::int64_t i = 0; i < n; ++i) {
      const float e = std::exp(x[i] - shift);
      if (out) out[i] = e;
      lanes.add(i, e);
    }
    return lanes.total();
  }
  T s = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const T e = std::exp(x[i] - shift);
    if (out) out[i] = e;
    s += e;
  }
  return s;
}

// out[i] = x[i] * factor + offset
template <class T>
void row_affine(const T* x, T factor, T offset, T* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = x[i] * factor + offset;
}

}  // namespace strata::kernels::cpu
