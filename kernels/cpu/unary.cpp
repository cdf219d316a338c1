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
#include "kernels/cpu/scalar_math.h"
#include "kernels/cpu/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {

constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kInvSqrt2Pi = 0.3989422804014327;   // 1 / sqrt(2 pi)
constexpr double kGeluCubic = 0.044715;              // GPT-2's tanh approximation

// ---- scalar formulas (f64 reference; f32 without AVX2) --------------------------------

template <class T>
void unary_fwd_scalar(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& p) {
  const T beta = T(p.beta), threshold = T(p.threshold);
  switch (op) {
    case UnaryOp::exp:
      return map_scalar(
          y, n, [](T v) { return std::exp(v); }, x);
    case UnaryOp::log:
      return map_scalar(
          y, n, [](T v) { return std::log(v); }, x);
    case UnaryOp::sqrt:
      return map_scalar(
          y, n, [](T v) { return std::sqrt(v); }, x);
    case UnaryOp::square:
      return map_scalar(
          y, n, [](T v) { return v * v; }, x);
    case UnaryOp::tanh:
      return map_scalar(
          y, n, [](T v) { return std::tanh(v); }, x);
    case UnaryOp::sigmoid:
      return map_scalar(
          y, n, [](T v) { return sigmoid_stable(v); }, x);
    case UnaryOp::relu:
      return map_scalar(
          y, n, [](T v) { return v > 0 || std::isnan(v) ? v : T(0); }, x);
    case UnaryOp::silu:
      return map_scalar(
          y, n, [](T v) { return v * sigmoid_stable(v); }, x);
    case UnaryOp::gelu_erf:
      return map_scalar(
          y, n, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(std::numbers::sqrt2 / 2))); }, x);
    case UnaryOp::gelu_tanh:
      return map_scalar(
          y, n, [](T v) { return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2OverPi) * (v + T(kGeluCubic) * v * v * v))); },
          x);
    case UnaryOp::softplus:
      return map_scalar(
          y, n,
          [=](T v) {
            const T z = beta * v;
            return z > threshold ? v : (std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z)))) / beta;
          },
          x);
  }
}

template <class T>
void unary_bwd_scalar(UnaryOp op, const T* x, const T* y, const T* g, T* dx, std::int64_t n, const UnaryParams& p) {
  const T beta = T(p.beta), threshold = T(p.threshold);
  switch (op) {
    case UnaryOp::exp:
      return map_scalar(
          dx, n, [](T gv, T yv) { return gv * yv; }, g, y);
    case UnaryOp::log:
      return map_scalar(
          dx, n, [](T gv, T xv) { return gv / xv; }, g, x);
    case UnaryOp::sqrt:
      return map_scalar(
          dx, n, [](T gv, T yv) { return gv * T(0.5) / yv; }, g, y);
    case UnaryOp::square:
      return map_scalar(
          dx, n, [](T gv, T xv) { return T(2) * gv * xv; }, g, x);
    case UnaryOp::tanh:
      return map_scalar(
          dx, n, [](T gv, T yv) { return gv * (T(1) - yv * yv); }, g, y);
    case UnaryOp::sigmoid:
      return map_scalar(
          dx, n, [](T gv, T yv) { return gv * yv * (T(1) - yv); }, g, y);
    case UnaryOp::relu:
      return map_scalar(
          dx, n, [](T gv, T xv) { return xv > 0 ? gv : T(0); }, g, x);
    case UnaryOp::silu:
      return map_scalar(
          dx, n,
          [](T gv, T xv) {
            const T s = sigmoid_stable(xv);
            return gv * s * (T(1) + xv * (T(1) - s));
          },
          g, x);
    case UnaryOp::gelu_erf:
      return map_scalar(
          dx, n,
          [](T gv, T xv) {
            const T cdf = T(0.5) * (T(1) + std::erf(xv * T(std::numbers::sqrt2 / 2)));
            return gv * (cdf + xv * T(kInvSqrt2Pi) * std::exp(T(-0.5) * xv * xv));
          },
          g, x);
    case UnaryOp::gelu_tanh:
      return map_scalar(
          dx, n,
          [](T gv, T xv) {
            const T t = std::tanh(T(kSqrt2OverPi) * (xv + T(kGeluCubic) * xv * xv * xv));
            const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * xv * xv);
            return gv * (T(0.5) * (T(1) + t) + T(0.5) * xv * (T(1) - t * t) * du);
          },
          g, x);
    case UnaryOp::softplus:
      return map_scalar(
          dx, n,
          [=](T gv, T xv) {
            const T z = beta * xv;
            return z > threshold ? gv : gv * sigmoid_stable(z);
          },
          g, x);
  }
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
