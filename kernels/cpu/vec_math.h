#pragma once

// Vectorised float math: exp, log, log1p, tanh, sigmoid and erf on 8 lanes
// (AVX2 + FMA), with array and single-value entry points that give the same
// bits as the vector code, so scalar and vectorised paths of a kernel agree
// exactly.  Without AVX2/FMA the array and scalar entry points use <cmath>.
//
// The polynomial coefficients were fitted for this file with a weighted
// Remez exchange (relative error except for erfc, which is fitted for absolute
// error), then rounded to float.  Error bounds quoted below were measured against
// the double-precision <cmath> functions over every float input (exhaustive
// sweep); tests/kernels/test_vec_math.cpp re-checks them on a few million.
//
// Results assume the default MXCSR (no flush-to-zero / denormals-are-zero);
// with FTZ/DAZ set, denormal inputs and outputs are read and written as zero.

#include <cmath>
#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace strata::kernels::cpu::vec {

#if defined(__AVX2__) && defined(__FMA__)

// A per-ISA inline namespace gives the AVX2 and fallback definitions different
// mangled names, so translation units built with different -march flags cannot
// silently share one of them (an ODR violation the linker would not report).
inline namespace avx2 {

namespace detail {

inline __m256 abs(__m256 x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }

// Gives |magnitude| the sign of `sign`; `magnitude` must be non-negative.
inline __m256 with_sign_of(__m256 magnitude, __m256 sign) {
  return _mm256_or_ps(magnitude, _mm256_and_ps(sign, _mm256_set1_ps(-0.0f)));
}

inline __m256 pow2i(__m256i n) {  // 2^n for n in [-126, 127]
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

}  // namespace detail

// exp: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2, exact first
// step thanks to FMA), exp(r) = 1 + r + r^2 P(r) with a degree-4 P, then 2^n
// applied as two factors so that results in the denormal range and up to
// FLT_MAX are produced by a single final rounding.
// Measured: 1.01 ulp on [-87.3, 88.7]; denormal results within 0.75 of their
// spacing; +inf above 88.7228, 0 below -103.97.
inline __m256 exp(__m256 x) {
  // Operand order keeps NaN: min/max return their second operand on NaN.
  x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
  x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);

  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(6.93147182464599609375e-1f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-1.90465429995776805e-9f), r);

  __m256 p = _mm256_set1_ps(1.381316106e-03f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.369410411e-03f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166845605e-02f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666651517e-01f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.999999404e-01f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));

  // n is in [-150, 128]; each half stays a normal power of two.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  return _mm256_mul_ps(_mm256_mul_ps(p, detail::pow2i(n1)), detail::pow2i(n2));
}

// log: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log(m) = f - f^2/2 + f^3 P(f)
// for f = m - 1 (exact), degree-8 P, plus e ln2 added last via FMA.
// Denormal inputs are scaled by 2^25 first, so they are handled exactly like
// normal ones.  log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf.
// Measured: 0.83 ulp over all positive finite floats (denormals included).
inline __m256 log(__m256 x) {
  const __m256 denormal = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
  const __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(33554432.0f)), denormal);
  const __m256 e_bias = _mm256_and_ps(denormal, _mm256_set1_ps(25.0f));

  // Offsetting the bits by those of sqrt(1/2) before splitting puts m in
  // [sqrt(1/2), sqrt(2)) without a compare-and-adjust step.
  const __m256i ix = _mm256_add_epi32(_mm256_castps_si256(xs), _mm256_set1_epi32(0x3f800000 - 0x3f3504f3));
  const __m256 e =
      _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srai_epi32(ix, 23), _mm256_set1_epi32(127))), e_bias);
  const __m256 m = _mm256_castsi256_ps(
      _mm256_add_epi32(_mm256_and_si256(ix, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f3504f3)));
  const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(f, f);

  __m256 p = _mm256_set1_ps(7.105204463e-02f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.196211949e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.188639402e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.235897094e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.421344429e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.667034924e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.000251114e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.499997318e-01f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.333330750e-01f));

  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, z), f);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-1.90465429995776805e-9f), y);
  y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);
  y = _mm256_add_ps(f, y);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(6.93147182464599609375e-1f), y);

  const __m256 inf = _mm256_set1_ps(INFINITY);
  const __m256 pass_through = _mm256_or_ps(_mm256_cmp_ps(x, inf, _CMP_EQ_OQ), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  y = _mm256_blendv_ps(y, x, pass_through);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(NAN), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, _mm256_set1_ps(-INFINITY), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
}

// log1p: with u = 1 + x rounded, log(u) * (x / (u - 1)) cancels the rounding
// of u to first order (Goldberg); x itself where u == 1.  Defined for x >= -1.
// Measured: 2.5 ulp over all floats x > -1.
inline __m256 log1p(__m256 x) {
  const __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), x);
  const __m256 d = _mm256_sub_ps(u, _mm256_set1_ps(1.0f));
  // x / d first: log(u) * x could overflow for x near FLT_MAX.
  __m256 y = _mm256_mul_ps(log(u), _mm256_div_ps(x, d));
  // inf / inf above would make log1p(+inf) NaN.
  const __m256 keep_x = _mm256_or_ps(_mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ),
                                     _mm256_cmp_ps(x, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ));
  return _mm256_blendv_ps(y, x, keep_x);
}

// tanh: on a = |x|, a < 0.625 uses a + a^3 P(a^2) (degree-4 P, keeps full
// relative accuracy near 0), otherwise 1 - 2 / (exp(2a) + 1), which saturates
// to 1 cleanly as exp overflows; the sign of x is applied last (so -0 -> -0).
// Measured: 1.34 ulp and 8e-8 absolute error over all floats.
inline __m256 tanh(__m256 x) {
  const __m256 ax = detail::abs(x);

  const __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = _mm256_set1_ps(-5.704987328e-03f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.063908800e-02f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.373971537e-02f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.333144158e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.333328068e-01f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);

  const __m256 e = exp(_mm256_add_ps(ax, ax));
  const __m256 large =
      _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));

  // NaN fails the compare and propagates through the exp branch.
  const __m256 small_range = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
  return detail::with_sign_of(_mm256_blendv_ps(large, small, small_range), x);
}

// sigmoid: with e = exp(-|x|) <= 1, 1 / (1 + e) for x >= 0 and e / (1 + e)
// for x < 0, so neither side overflows and tiny results keep their relative
// accuracy down to the denormal range.  +-inf give exactly 1 and 0.
// Measured: 2.4 ulp over all floats with a result >= 1e-30.
inline __m256 sigmoid(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp(_mm256_sub_ps(_mm256_setzero_ps(), detail::abs(x)));
  const __m256 num = _mm256_blendv_ps(one, e, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

// erf: on a = |x|, a < 1 uses a P(a^2) (degree-5 P, relative accuracy near 0),
// otherwise 1 - exp(-a^2) G(a), where G approximates erfc(a) exp(a^2) on [1, 4]
// (degree 7 in a - 2, fitted for absolute error of erfc); a is clamped to 4,
// beyond which erf rounds to 1.  The sign of x is applied last.
// Measured: 1.13e-7 absolute error over all floats (2.4 ulp for |x| < 1).
inline __m256 erf(__m256 x) {
  const __m256 ax = detail::abs(x);

  const __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = _mm256_set1_ps(-5.631422391e-04f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(4.917551298e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-2.671131119e-02f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.128017977e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.761232495e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.128379107e+00f));
  const __m256 small = _mm256_mul_ps(p, ax);

  const __m256 a = _mm256_min_ps(_mm256_set1_ps(4.0f), ax);  // keeps NaN
  const __m256 s = _mm256_sub_ps(a, _mm256_set1_ps(2.0f));   // exact on [1, 4]
  __m256 g = _mm256_set1_ps(-3.888837527e-04f);
  g = _mm256_fmadd_ps(g, s, _mm256_set1_ps(5.607483326e-04f));
  g = _mm256_fmadd_ps(g, s, _mm256_set1_ps(-1.602922450e-03f));
  g = _mm256_fmadd_ps(g, s, _mm256_set1_ps(5.571964197e-03f));
  g = _mm256_fmadd_ps(g, s, _mm256_set1_ps(-1.549214870e-02f));
  g = _mm256_fmadd_ps(g, s, _mm256_set1_ps(4.177123308e-02f));
  g = _mm256_fmadd_ps(g, s, _mm256_set1_ps(-1.067995057e-01f));
  g = _mm256_fmadd_ps(g, s, _mm256_set1_ps(2.553961277e-01f));
  const __m256 erfc = _mm256_mul_ps(exp(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a))), g);
  const __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), erfc);

  const __m256 small_range = _mm256_cmp_ps(ax, _mm256_set1_ps(1.0f), _CMP_LT_OQ);
  return detail::with_sign_of(_mm256_blendv_ps(large, small, small_range), x);
}

// Horizontal sum (pairwise: lanes i and i+4, then i and i+2, then the last pair).
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Horizontal max; NaN lanes give an unspecified result.
inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

namespace detail {

// Applies f to n floats.  The tail goes through a masked load/store of a full
// block rather than a scalar loop, so every element gets the same bits whatever
// its position in the array (and nothing outside [x, x + n) is touched).
template <class F>
inline void map(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i mask =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(y + i, mask, f(_mm256_maskload_ps(x + i, mask)));
  }
}

template <class F>
inline float one(float x, F f) {
  return _mm256_cvtss_f32(f(_mm256_set1_ps(x)));
}

}  // namespace detail

inline void exp(const float* x, float* y, int64_t n) {
  detail::map(x, y, n, [](__m256 v) { return exp(v); });
}
inline void log(const float* x, float* y, int64_t n) {
  detail::map(x, y, n, [](__m256 v) { return log(v); });
}
inline void log1p(const float* x, float* y, int64_t n) {
  detail::map(x, y, n, [](__m256 v) { return log1p(v); });
}
inline void tanh(const float* x, float* y, int64_t n) {
  detail::map(x, y, n, [](__m256 v) { return tanh(v); });
}
inline void sigmoid(const float* x, float* y, int64_t n) {
  detail::map(x, y, n, [](__m256 v) { return sigmoid(v); });
}
inline void erf(const float* x, float* y, int64_t n) {
  detail::map(x, y, n, [](__m256 v) { return erf(v); });
}

inline float exp_scalar(float x) {
  return detail::one(x, [](__m256 v) { return exp(v); });
}
inline float log_scalar(float x) {
  return detail::one(x, [](__m256 v) { return log(v); });
}
inline float log1p_scalar(float x) {
  return detail::one(x, [](__m256 v) { return log1p(v); });
}
inline float tanh_scalar(float x) {
  return detail::one(x, [](__m256 v) { return tanh(v); });
}
inline float sigmoid_scalar(float x) {
  return detail::one(x, [](__m256 v) { return sigmoid(v); });
}
inline float erf_scalar(float x) {
  return detail::one(x, [](__m256 v) { return erf(v); });
}

}  // namespace avx2

#else  // no AVX2/FMA: <cmath>, same signatures

inline namespace generic {

inline float exp_scalar(float x) { return std::exp(x); }
inline float log_scalar(float x) { return std::log(x); }
inline float log1p_scalar(float x) { return std::log1p(x); }
inline float tanh_scalar(float x) { return std::tanh(x); }
inline float erf_scalar(float x) { return std::erf(x); }

// Same overflow-free split as the vector version.
inline float sigmoid_scalar(float x) {
  const float e = std::exp(-std::fabs(x));
  return (x < 0.0f ? e : 1.0f) / (1.0f + e);
}

namespace detail {

template <class F>
inline void map(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

}  // namespace detail

inline void exp(const float* x, float* y, int64_t n) { detail::map(x, y, n, exp_scalar); }
inline void log(const float* x, float* y, int64_t n) { detail::map(x, y, n, log_scalar); }
inline void log1p(const float* x, float* y, int64_t n) { detail::map(x, y, n, log1p_scalar); }
inline void tanh(const float* x, float* y, int64_t n) { detail::map(x, y, n, tanh_scalar); }
inline void sigmoid(const float* x, float* y, int64_t n) { detail::map(x, y, n, sigmoid_scalar); }
inline void erf(const float* x, float* y, int64_t n) { detail::map(x, y, n, erf_scalar); }

}  // namespace generic

#endif

}  // namespace strata::kernels::cpu::vec
