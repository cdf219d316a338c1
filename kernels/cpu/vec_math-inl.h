// Vectorised float math for every SIMD target: exp, log, log1p, tanh, sigmoid and erf on
// Highway vectors of any width, plus single-value entry points that give the same bits as
// the vector code, so scalar and vectorised paths of a kernel agree exactly.
//
// A per-target header (Highway's "-inl.h" convention): a kernel file compiled through
// hwy/foreach_target.h includes it once per target, inside no namespace. Every target runs
// the same polynomial code, so results differ between targets only where FMA is emulated
// (SSE4, EMU128: multiply then add, two roundings).
//
// The polynomial coefficients were fitted for this file with a weighted Remez exchange
// (relative error except for erfc, which is fitted for absolute error), then rounded to
// float. Error bounds quoted below were measured against the double-precision <cmath>
// functions over every float input (exhaustive sweep, AVX2);
// tests/kernels/test_vec_math.cpp re-checks them on a few million, on every target.
//
// Results assume IEEE denormals (no flush-to-zero / denormals-are-zero).

#if defined(STRATA_KERNELS_CPU_VEC_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef STRATA_KERNELS_CPU_VEC_MATH_INL_H_
#undef STRATA_KERNELS_CPU_VEC_MATH_INL_H_
#else
#define STRATA_KERNELS_CPU_VEC_MATH_INL_H_
#endif

#include <hwy/highway.h>

#include <cmath>

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

namespace vec {

namespace detail {

// min(bound, x) and max(bound, x) that return x where x is NaN on every target: x86's
// min/max return their second operand when one is NaN; Arm's (IEEE minNum/maxNum) and
// Highway's portable targets return the number, so those compare and select.
template <class V>
HWY_INLINE V min_keep_nan(V bound, V x) {
#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  return hn::Min(bound, x);
#else
  return hn::IfThenElse(hn::Lt(bound, x), bound, x);
#endif
}
template <class V>
HWY_INLINE V max_keep_nan(V bound, V x) {
#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  return hn::Max(bound, x);
#else
  return hn::IfThenElse(hn::Gt(bound, x), bound, x);
#endif
}

template <class D>
HWY_INLINE hn::Vec<D> pow2i(D d, hn::Vec<hn::RebindToSigned<D>> n) {  // 2^n for n in [-126, 127]
  const hn::RebindToSigned<D> di;
  return hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(n, hn::Set(di, 127))));
}

}  // namespace detail

// exp: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2 whose first step is exact,
// thanks to FMA or, without it, to a 16-bit ln2_hi), exp(r) = 1 + r + r^2 P(r) with a degree-4 P, then 2^n applied as
// two factors so that results in the denormal range and up to FLT_MAX are produced by a single final rounding.
// Measured: 1.01 ulp on [-87.3, 88.7]; denormal results within 0.75 of their spacing;
// +inf above 88.7228, 0 below -103.97.
template <class V>
HWY_INLINE V exp(V x) {
  const hn::DFromV<V> d;
  const hn::RebindToSigned<decltype(d)> di;
  x = detail::min_keep_nan(hn::Set(d, 89.0f), x);
  x = detail::max_keep_nan(hn::Set(d, -104.0f), x);

  const V n = hn::Round(hn::Mul(x, hn::Set(d, 1.44269504088896341f)));
#if HWY_NATIVE_FMA
  const float ln2_hi = 6.93147182464599609375e-1f, ln2_lo = -1.90465429995776805e-9f;
#else
  // Without FMA, n * ln2_hi must be exact: ln2 rounded to 16 significant bits (|n| <= 150).
  const float ln2_hi = 0.693145751953125f, ln2_lo = 1.428606765330187e-6f;
#endif
  V r = hn::NegMulAdd(n, hn::Set(d, ln2_hi), x);
  r = hn::NegMulAdd(n, hn::Set(d, ln2_lo), r);

  V p = hn::Set(d, 1.381316106e-03f);
  p = hn::MulAdd(p, r, hn::Set(d, 8.369410411e-03f));
  p = hn::MulAdd(p, r, hn::Set(d, 4.166845605e-02f));
  p = hn::MulAdd(p, r, hn::Set(d, 1.666651517e-01f));
  p = hn::MulAdd(p, r, hn::Set(d, 4.999999404e-01f));
  p = hn::MulAdd(p, hn::Mul(r, r), r);
  p = hn::Add(p, hn::Set(d, 1.0f));

  // n is in [-150, 128] (NaN lanes give an arbitrary n; p is NaN there); each half stays a
  // normal power of two.
  const auto ni = hn::ConvertTo(di, n);
  const auto n1 = hn::ShiftRight<1>(ni);
  const auto n2 = hn::Sub(ni, n1);
  return hn::Mul(hn::Mul(p, detail::pow2i(d, n1)), detail::pow2i(d, n2));
}

// log: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log(m) = f - f^2/2 + f^3 P(f) for
// f = m - 1 (exact), degree-8 P, plus e ln2 added last via FMA. Denormal inputs are scaled
// by 2^25 first, so they are handled exactly like normal ones. log(+-0) = -inf,
// log(x < 0) = NaN, log(+inf) = +inf.
// Measured: 0.83 ulp over all positive finite floats (denormals included).
template <class V>
HWY_INLINE V log(V x) {
  const hn::DFromV<V> d;
  const hn::RebindToSigned<decltype(d)> di;
  const auto denormal = hn::Lt(x, hn::Set(d, 1.17549435e-38f));
  const V xs = hn::IfThenElse(denormal, hn::Mul(x, hn::Set(d, 33554432.0f)), x);
  const V e_bias = hn::IfThenElseZero(denormal, hn::Set(d, 25.0f));

  // Offsetting the bits by those of sqrt(1/2) before splitting puts m in
  // [sqrt(1/2), sqrt(2)) without a compare-and-adjust step.
  const auto ix = hn::Add(hn::BitCast(di, xs), hn::Set(di, 0x3f800000 - 0x3f3504f3));
  const V e = hn::Sub(hn::ConvertTo(d, hn::Sub(hn::ShiftRight<23>(ix), hn::Set(di, 127))), e_bias);
  const V m = hn::BitCast(d, hn::Add(hn::And(ix, hn::Set(di, 0x007fffff)), hn::Set(di, 0x3f3504f3)));
  const V f = hn::Sub(m, hn::Set(d, 1.0f));
  const V z = hn::Mul(f, f);

  V p = hn::Set(d, 7.105204463e-02f);
  p = hn::MulAdd(p, f, hn::Set(d, -1.196211949e-01f));
  p = hn::MulAdd(p, f, hn::Set(d, 1.188639402e-01f));
  p = hn::MulAdd(p, f, hn::Set(d, -1.235897094e-01f));
  p = hn::MulAdd(p, f, hn::Set(d, 1.421344429e-01f));
  p = hn::MulAdd(p, f, hn::Set(d, -1.667034924e-01f));
  p = hn::MulAdd(p, f, hn::Set(d, 2.000251114e-01f));
  p = hn::MulAdd(p, f, hn::Set(d, -2.499997318e-01f));
  p = hn::MulAdd(p, f, hn::Set(d, 3.333330750e-01f));

  V y = hn::Mul(hn::Mul(p, z), f);
#if HWY_NATIVE_FMA
  const float ln2_hi = 6.93147182464599609375e-1f, ln2_lo = -1.90465429995776805e-9f;
#else
  const float ln2_hi = 0.693145751953125f, ln2_lo = 1.428606765330187e-6f;  // e * ln2_hi exact
#endif
  y = hn::MulAdd(e, hn::Set(d, ln2_lo), y);
  y = hn::NegMulAdd(hn::Set(d, 0.5f), z, y);
  y = hn::Add(f, y);
  y = hn::MulAdd(e, hn::Set(d, ln2_hi), y);

  const V zero = hn::Zero(d);
  const auto pass_through = hn::Or(hn::Eq(x, hn::Set(d, INFINITY)), hn::IsNaN(x));
  y = hn::IfThenElse(pass_through, x, y);
  y = hn::IfThenElse(hn::Lt(x, zero), hn::Set(d, NAN), y);
  return hn::IfThenElse(hn::Eq(x, zero), hn::Set(d, -INFINITY), y);
}

// log1p: with u = 1 + x rounded, log(u) * (x / (u - 1)) cancels the rounding of u to first
// order (Goldberg); x itself where u == 1. Defined for x >= -1.
// Measured: 2.5 ulp over all floats x > -1.
template <class V>
HWY_INLINE V log1p(V x) {
  const hn::DFromV<V> d;
  const V one = hn::Set(d, 1.0f);
  const V u = hn::Add(one, x);
  const V du = hn::Sub(u, one);
  // x / du first: log(u) * x could overflow for x near FLT_MAX.
  const V y = hn::Mul(log(u), hn::Div(x, du));
  // inf / inf above would make log1p(+inf) NaN.
  const auto keep_x = hn::Or(hn::Eq(du, hn::Zero(d)), hn::Eq(x, hn::Set(d, INFINITY)));
  return hn::IfThenElse(keep_x, x, y);
}

// tanh: on a = |x|, a < 0.625 uses a + a^3 P(a^2) (degree-4 P, keeps full relative
// accuracy near 0), otherwise 1 - 2 / (exp(2a) + 1), which saturates to 1 cleanly as exp
// overflows; the sign of x is applied last (so -0 -> -0).
// Measured: 1.34 ulp and 8e-8 absolute error over all floats.
template <class V>
HWY_INLINE V tanh(V x) {
  const hn::DFromV<V> d;
  const V ax = hn::Abs(x);

  const V z = hn::Mul(ax, ax);
  V p = hn::Set(d, -5.704987328e-03f);
  p = hn::MulAdd(p, z, hn::Set(d, 2.063908800e-02f));
  p = hn::MulAdd(p, z, hn::Set(d, -5.373971537e-02f));
  p = hn::MulAdd(p, z, hn::Set(d, 1.333144158e-01f));
  p = hn::MulAdd(p, z, hn::Set(d, -3.333328068e-01f));
  const V small = hn::MulAdd(hn::Mul(p, z), ax, ax);

  const V e = exp(hn::Add(ax, ax));
  const V large = hn::Sub(hn::Set(d, 1.0f), hn::Div(hn::Set(d, 2.0f), hn::Add(e, hn::Set(d, 1.0f))));

  // NaN fails the compare and propagates through the exp branch.
  return hn::CopySignToAbs(hn::IfThenElse(hn::Lt(ax, hn::Set(d, 0.625f)), small, large), x);
}

// sigmoid: with e = exp(-|x|) <= 1, 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, so
// neither side overflows and tiny results keep their relative accuracy down to the
// denormal range. +-inf give exactly 1 and 0.
// Measured: 2.4 ulp over all floats with a result >= 1e-30.
template <class V>
HWY_INLINE V sigmoid(V x) {
  const hn::DFromV<V> d;
  const V one = hn::Set(d, 1.0f);
  const V e = exp(hn::Neg(hn::Abs(x)));
  const V num = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), e, one);
  return hn::Div(num, hn::Add(one, e));
}

// erf: on a = |x|, a < 1 uses a P(a^2) (degree-5 P, relative accuracy near 0), otherwise
// 1 - exp(-a^2) G(a), where G approximates erfc(a) exp(a^2) on [1, 4] (degree 7 in a - 2,
// fitted for absolute error of erfc); a is clamped to 4, beyond which erf rounds to 1. The
// sign of x is applied last.
// Measured: 1.13e-7 absolute error over all floats (2.4 ulp for |x| < 1).
template <class V>
HWY_INLINE V erf(V x) {
  const hn::DFromV<V> d;
  const V ax = hn::Abs(x);

  const V z = hn::Mul(ax, ax);
  V p = hn::Set(d, -5.631422391e-04f);
  p = hn::MulAdd(p, z, hn::Set(d, 4.917551298e-03f));
  p = hn::MulAdd(p, z, hn::Set(d, -2.671131119e-02f));
  p = hn::MulAdd(p, z, hn::Set(d, 1.128017977e-01f));
  p = hn::MulAdd(p, z, hn::Set(d, -3.761232495e-01f));
  p = hn::MulAdd(p, z, hn::Set(d, 1.128379107e+00f));
  const V small = hn::Mul(p, ax);

  const V a = detail::min_keep_nan(hn::Set(d, 4.0f), ax);
  const V s = hn::Sub(a, hn::Set(d, 2.0f));  // exact on [1, 4]
  V g = hn::Set(d, -3.888837527e-04f);
  g = hn::MulAdd(g, s, hn::Set(d, 5.607483326e-04f));
  g = hn::MulAdd(g, s, hn::Set(d, -1.602922450e-03f));
  g = hn::MulAdd(g, s, hn::Set(d, 5.571964197e-03f));
  g = hn::MulAdd(g, s, hn::Set(d, -1.549214870e-02f));
  g = hn::MulAdd(g, s, hn::Set(d, 4.177123308e-02f));
  g = hn::MulAdd(g, s, hn::Set(d, -1.067995057e-01f));
  g = hn::MulAdd(g, s, hn::Set(d, 2.553961277e-01f));
  const V erfc = hn::Mul(exp(hn::Neg(hn::Mul(a, a))), g);
  const V large = hn::Sub(hn::Set(d, 1.0f), erfc);

  return hn::CopySignToAbs(hn::IfThenElse(hn::Lt(ax, hn::Set(d, 1.0f)), small, large), x);
}

// max(0, x) with NaN propagated (relu).
template <class V>
HWY_INLINE V relu(V x) {
  return detail::max_keep_nan(hn::Zero(hn::DFromV<V>()), x);
}

// Horizontal sum and max of the lanes (max: NaN lanes give an unspecified result).
template <class V>
HWY_INLINE float hsum(V v) {
  return hn::GetLane(hn::SumOfLanes(hn::DFromV<V>(), v));
}
template <class V>
HWY_INLINE float hmax(V v) {
  return hn::GetLane(hn::MaxOfLanes(hn::DFromV<V>(), v));
}

// f applied to one float through the vector code (same bits as a vector lane).
template <class F>
HWY_INLINE float one(float x, F f) {
  const hn::ScalableTag<float> d;
  return hn::GetLane(f(hn::Set(d, x)));
}

inline float exp_scalar(float x) {
  return one(x, [](auto v) { return exp(v); });
}

}  // namespace vec
}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
