#include "kernels/cpu/unary.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <type_traits>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/unary.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/cpu/elementwise_map-inl.h"
#include "kernels/cpu/vec_math-inl.h"
#include "kernels/unary_math.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {

static_assert(kSqrtHalf == std::numbers::sqrt2 / 2, "unary_math.h's gelu constant is the vector path's");

// ---- scalar formulas (the f64 reference): kernels/unary_math.h, shared with CUDA -------

// Calls f(std::integral_constant<UnaryOp, op>{}), so that each loop below is compiled for
// one formula rather than switching per element.
template <class F>
void with_op(UnaryOp op, F f) {
  using E = UnaryOp;
  switch (op) {
    case E::exp:
      return f(std::integral_constant<E, E::exp>{});
    case E::log:
      return f(std::integral_constant<E, E::log>{});
    case E::sqrt:
      return f(std::integral_constant<E, E::sqrt>{});
    case E::square:
      return f(std::integral_constant<E, E::square>{});
    case E::tanh:
      return f(std::integral_constant<E, E::tanh>{});
    case E::sigmoid:
      return f(std::integral_constant<E, E::sigmoid>{});
    case E::relu:
      return f(std::integral_constant<E, E::relu>{});
    case E::silu:
      return f(std::integral_constant<E, E::silu>{});
    case E::gelu_erf:
      return f(std::integral_constant<E, E::gelu_erf>{});
    case E::gelu_tanh:
      return f(std::integral_constant<E, E::gelu_tanh>{});
    case E::softplus:
      return f(std::integral_constant<E, E::softplus>{});
  }
}

template <class T>
void unary_fwd_scalar(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& p) {
  with_op(op, [&](auto kind) {
    map_scalar(
        y, n, [p](T v) { return unary_forward<T>(decltype(kind)::value, v, p); }, x);
  });
}

template <class T>
void unary_bwd_scalar(UnaryOp op, const T* x, const T* y, const T* g, T* dx, std::int64_t n, const UnaryParams& p) {
  const T* saved = unary_bwd_uses_output(op) ? y : x;
  with_op(op, [&](auto kind) {
    map_scalar(
        dx, n, [p](T gv, T sv) { return unary_backward<T>(decltype(kind)::value, gv, sv, p); }, g, saved);
  });
}

// ---- f32 vector formulas (every SIMD target) -----------------------------------------

template <class V>
HWY_INLINE V set1(V, double v) {
  return hn::Set(hn::DFromV<V>(), float(v));
}

template <class V>
HWY_INLINE V gelu_tanh_inner(V x) {  // sqrt(2/pi) * (x + c x^3)
  const V x2 = hn::Mul(x, x);
  return hn::Mul(hn::Mul(set1(x, kSqrt2OverPi), x), hn::MulAdd(set1(x, kGeluCubic), x2, set1(x, 1.0)));
}

void unary_fwd_f32(UnaryOp op, const float* x, float* y, std::int64_t n, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::exp:
      return map_f32(
          y, n, [](auto v) { return vec::exp(v); }, x);
    case UnaryOp::log:
      return map_f32(
          y, n, [](auto v) { return vec::log(v); }, x);
    case UnaryOp::sqrt:
      return map_f32(
          y, n, [](auto v) { return hn::Sqrt(v); }, x);
    case UnaryOp::square:
      return map_f32(
          y, n, [](auto v) { return hn::Mul(v, v); }, x);
    case UnaryOp::tanh:
      return map_f32(
          y, n, [](auto v) { return vec::tanh(v); }, x);
    case UnaryOp::sigmoid:
      return map_f32(
          y, n, [](auto v) { return vec::sigmoid(v); }, x);
    case UnaryOp::relu:  // NaN propagates as in the scalar path
      return map_f32(
          y, n, [](auto v) { return vec::relu(v); }, x);
    case UnaryOp::silu:
      return map_f32(
          y, n, [](auto v) { return hn::Mul(v, vec::sigmoid(v)); }, x);
    case UnaryOp::gelu_erf:
      return map_f32(
          y, n,
          [](auto v) {
            const auto e = vec::erf(hn::Mul(v, set1(v, std::numbers::sqrt2 / 2)));
            return hn::Mul(hn::Mul(set1(v, 0.5), v), hn::Add(set1(v, 1.0), e));
          },
          x);
    case UnaryOp::gelu_tanh:
      return map_f32(
          y, n,
          [](auto v) {
            return hn::Mul(hn::Mul(set1(v, 0.5), v), hn::Add(set1(v, 1.0), vec::tanh(gelu_tanh_inner(v))));
          },
          x);
    case UnaryOp::softplus: {
      const double beta = p.beta, threshold = p.threshold;
      return map_f32(
          y, n,
          [=](auto v) {
            const auto z = hn::Mul(set1(v, beta), v);
            const auto neg_abs = hn::Neg(hn::Abs(z));
            const auto soft =
                hn::Mul(hn::Add(hn::Max(z, hn::Zero(hn::DFromV<decltype(v)>())), vec::log1p(vec::exp(neg_abs))),
                        set1(v, 1.0 / beta));
            return hn::IfThenElse(hn::Gt(z, set1(v, threshold)), v, soft);
          },
          x);
    }
  }
}

void unary_bwd_f32(UnaryOp op, const float* x, const float* y, const float* g, float* dx, std::int64_t n,
                   const UnaryParams& p) {
  switch (op) {
    case UnaryOp::exp:
      return map_f32(
          dx, n, [](auto gv, auto yv) { return hn::Mul(gv, yv); }, g, y);
    case UnaryOp::log:
      return map_f32(
          dx, n, [](auto gv, auto xv) { return hn::Div(gv, xv); }, g, x);
    case UnaryOp::sqrt:
      return map_f32(
          dx, n, [](auto gv, auto yv) { return hn::Div(hn::Mul(gv, set1(gv, 0.5)), yv); }, g, y);
    case UnaryOp::square:
      return map_f32(
          dx, n, [](auto gv, auto xv) { return hn::Mul(hn::Add(gv, gv), xv); }, g, x);
    case UnaryOp::tanh:
      return map_f32(
          dx, n, [](auto gv, auto yv) { return hn::Mul(gv, hn::NegMulAdd(yv, yv, set1(yv, 1.0))); }, g, y);
    case UnaryOp::sigmoid:
      return map_f32(
          dx, n, [](auto gv, auto yv) { return hn::Mul(hn::Mul(gv, yv), hn::Sub(set1(yv, 1.0), yv)); }, g, y);
    case UnaryOp::relu:
      return map_f32(
          dx, n,
          [](auto gv, auto xv) { return hn::IfThenElseZero(hn::Gt(xv, hn::Zero(hn::DFromV<decltype(xv)>())), gv); }, g,
          x);
    case UnaryOp::silu:
      return map_f32(
          dx, n,
          [](auto gv, auto xv) {
            const auto one = set1(xv, 1.0);
            const auto s = vec::sigmoid(xv);
            return hn::Mul(hn::Mul(gv, s), hn::MulAdd(xv, hn::Sub(one, s), one));
          },
          g, x);
    case UnaryOp::gelu_erf:
      return map_f32(
          dx, n,
          [](auto gv, auto xv) {
            const auto cdf = hn::Mul(set1(xv, 0.5),
                                     hn::Add(set1(xv, 1.0), vec::erf(hn::Mul(xv, set1(xv, std::numbers::sqrt2 / 2)))));
            const auto pdf = hn::Mul(set1(xv, kInvSqrt2Pi), vec::exp(hn::Mul(set1(xv, -0.5), hn::Mul(xv, xv))));
            return hn::Mul(gv, hn::MulAdd(xv, pdf, cdf));
          },
          g, x);
    case UnaryOp::gelu_tanh:
      return map_f32(
          dx, n,
          [](auto gv, auto xv) {
            const auto one = set1(xv, 1.0), half = set1(xv, 0.5);
            const auto t = vec::tanh(gelu_tanh_inner(xv));
            const auto du = hn::Mul(set1(xv, kSqrt2OverPi), hn::MulAdd(set1(xv, 3 * kGeluCubic), hn::Mul(xv, xv), one));
            const auto left = hn::Mul(half, hn::Add(one, t));
            const auto right = hn::Mul(hn::Mul(half, xv), hn::Mul(hn::NegMulAdd(t, t, one), du));
            return hn::Mul(gv, hn::Add(left, right));
          },
          g, x);
    case UnaryOp::softplus: {
      const double beta = p.beta, threshold = p.threshold;
      return map_f32(
          dx, n,
          [=](auto gv, auto xv) {
            const auto z = hn::Mul(set1(xv, beta), xv);
            const auto slope = hn::IfThenElse(hn::Gt(z, set1(xv, threshold)), set1(xv, 1.0), vec::sigmoid(z));
            return hn::Mul(gv, slope);
          },
          g, x);
    }
  }
}

}  // namespace

// Per-target entry points: f32 on the target's vectors, f64 through the scalar formulas.
void unary_fwd_f64(UnaryOp op, const double* x, double* y, std::int64_t n, const UnaryParams& params) {
  unary_fwd_scalar(op, x, y, n, params);
}
void unary_bwd_f64(UnaryOp op, const double* x, const double* y, const double* g, double* dx, std::int64_t n,
                   const UnaryParams& params) {
  unary_bwd_scalar(op, x, y, g, dx, n, params);
}

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

HWY_EXPORT(unary_fwd_f32);
HWY_EXPORT(unary_fwd_f64);
HWY_EXPORT(unary_bwd_f32);
HWY_EXPORT(unary_bwd_f64);

template <class T>
void unary_fwd_cpu(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& params) {
  if constexpr (std::is_same_v<T, float>)
    HWY_DYNAMIC_DISPATCH(unary_fwd_f32)(op, x, y, n, params);
  else
    HWY_DYNAMIC_DISPATCH(unary_fwd_f64)(op, x, y, n, params);
}

template <class T>
void unary_bwd_cpu(UnaryOp op, const T* x, const T* y, const T* g, T* dx, std::int64_t n, const UnaryParams& params) {
  if constexpr (std::is_same_v<T, float>)
    HWY_DYNAMIC_DISPATCH(unary_bwd_f32)(op, x, y, g, dx, n, params);
  else
    HWY_DYNAMIC_DISPATCH(unary_bwd_f64)(op, x, y, g, dx, n, params);
}

template void unary_fwd_cpu<float>(UnaryOp, const float*, float*, std::int64_t, const UnaryParams&);
template void unary_fwd_cpu<double>(UnaryOp, const double*, double*, std::int64_t, const UnaryParams&);
template void unary_bwd_cpu<float>(UnaryOp, const float*, const float*, const float*, float*, std::int64_t,
                                   const UnaryParams&);
template void unary_bwd_cpu<double>(UnaryOp, const double*, const double*, const double*, double*, std::int64_t,
                                    const UnaryParams&);

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
