#include "kernels/cpu/unary.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <type_traits>

#include "kernels/cpu/elementwise_map.h"
#include "kernels/cpu/scalar_math.h"
#include "kernels/cpu/vec_math.h"

namespace strata::kernels::cpu {

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

#if defined(__AVX2__) && defined(__FMA__)
// ---- f32 vector formulas ----------------------------------------------------------
inline __m256 set1(double v) { return _mm256_set1_ps(float(v)); }

inline __m256 gelu_tanh_inner(__m256 x) {  // sqrt(2/pi) * (x + c x^3)
  const __m256 x2 = _mm256_mul_ps(x, x);
  return _mm256_mul_ps(_mm256_mul_ps(set1(kSqrt2OverPi), x), _mm256_fmadd_ps(set1(kGeluCubic), x2, set1(1.0)));
}

void unary_fwd_f32(UnaryOp op, const float* x, float* y, std::int64_t n, const UnaryParams& p) {
  const __m256 half = set1(0.5), one = set1(1.0), zero = _mm256_setzero_ps();
  switch (op) {
    case UnaryOp::exp:
      return map_f32(
          y, n, [](__m256 v) { return vec::exp(v); }, x);
    case UnaryOp::log:
      return map_f32(
          y, n, [](__m256 v) { return vec::log(v); }, x);
    case UnaryOp::sqrt:
      return map_f32(
          y, n, [](__m256 v) { return _mm256_sqrt_ps(v); }, x);
    case UnaryOp::square:
      return map_f32(
          y, n, [](__m256 v) { return _mm256_mul_ps(v, v); }, x);
    case UnaryOp::tanh:
      return map_f32(
          y, n, [](__m256 v) { return vec::tanh(v); }, x);
    case UnaryOp::sigmoid:
      return map_f32(
          y, n, [](__m256 v) { return vec::sigmoid(v); }, x);
    // max(0, NaN) returns its second operand, so NaN propagates as in the scalar path
    case UnaryOp::relu:
      return map_f32(
          y, n, [=](__m256 v) { return _mm256_max_ps(zero, v); }, x);
    case UnaryOp::silu:
      return map_f32(
          y, n, [](__m256 v) { return _mm256_mul_ps(v, vec::sigmoid(v)); }, x);
    case UnaryOp::gelu_erf:
      return map_f32(
          y, n,
          [=](__m256 v) {
            const __m256 e = vec::erf(_mm256_mul_ps(v, set1(std::numbers::sqrt2 / 2)));
            return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e));
          },
          x);
    case UnaryOp::gelu_tanh:
      return map_f32(
          y, n,
          [=](__m256 v) {
            return _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, vec::tanh(gelu_tanh_inner(v))));
          },
          x);
    case UnaryOp::softplus: {
      const __m256 beta = set1(p.beta), inv_beta = set1(1.0 / p.beta), threshold = set1(p.threshold);
      const __m256 sign_mask = set1(-0.0);
      return map_f32(
          y, n,
          [=](__m256 v) {
            const __m256 z = _mm256_mul_ps(beta, v);
            const __m256 neg_abs = _mm256_or_ps(z, sign_mask);
            const __m256 soft =
                _mm256_mul_ps(_mm256_add_ps(_mm256_max_ps(z, zero), vec::log1p(vec::exp(neg_abs))), inv_beta);
            return _mm256_blendv_ps(soft, v, _mm256_cmp_ps(z, threshold, _CMP_GT_OQ));
          },
          x);
    }
  }
}

void unary_bwd_f32(UnaryOp op, const float* x, const float* y, const float* g, float* dx, std::int64_t n,
                   const UnaryParams& p) {
  const __m256 half = set1(0.5), one = set1(1.0), zero = _mm256_setzero_ps();
  switch (op) {
    case UnaryOp::exp:
      return map_f32(
          dx, n, [](__m256 gv, __m256 yv) { return _mm256_mul_ps(gv, yv); }, g, y);
    case UnaryOp::log:
      return map_f32(
          dx, n, [](__m256 gv, __m256 xv) { return _mm256_div_ps(gv, xv); }, g, x);
    case UnaryOp::sqrt:
      return map_f32(
          dx, n, [=](__m256 gv, __m256 yv) { return _mm256_div_ps(_mm256_mul_ps(gv, half), yv); }, g, y);
    case UnaryOp::square:
      return map_f32(
          dx, n, [](__m256 gv, __m256 xv) { return _mm256_mul_ps(_mm256_add_ps(gv, gv), xv); }, g, x);
    case UnaryOp::tanh:
      return map_f32(
          dx, n, [=](__m256 gv, __m256 yv) { return _mm256_mul_ps(gv, _mm256_fnmadd_ps(yv, yv, one)); }, g, y);
    case UnaryOp::sigmoid:
      return map_f32(
          dx, n, [=](__m256 gv, __m256 yv) { return _mm256_mul_ps(_mm256_mul_ps(gv, yv), _mm256_sub_ps(one, yv)); }, g,
          y);
    case UnaryOp::relu:
      return map_f32(
          dx, n, [=](__m256 gv, __m256 xv) { return _mm256_and_ps(gv, _mm256_cmp_ps(xv, zero, _CMP_GT_OQ)); }, g, x);
    case UnaryOp::silu:
      return map_f32(
          dx, n,
          [=](__m256 gv, __m256 xv) {
            const __m256 s = vec::sigmoid(xv);
            return _mm256_mul_ps(_mm256_mul_ps(gv, s), _mm256_fmadd_ps(xv, _mm256_sub_ps(one, s), one));
          },
          g, x);
    case UnaryOp::gelu_erf:
      return map_f32(
          dx, n,
          [=](__m256 gv, __m256 xv) {
            const __m256 cdf =
                _mm256_mul_ps(half, _mm256_add_ps(one, vec::erf(_mm256_mul_ps(xv, set1(std::numbers::sqrt2 / 2)))));
            const __m256 pdf =
                _mm256_mul_ps(set1(kInvSqrt2Pi), vec::exp(_mm256_mul_ps(set1(-0.5), _mm256_mul_ps(xv, xv))));
            return _mm256_mul_ps(gv, _mm256_fmadd_ps(xv, pdf, cdf));
          },
          g, x);
    case UnaryOp::gelu_tanh:
      return map_f32(
          dx, n,
          [=](__m256 gv, __m256 xv) {
            const __m256 t = vec::tanh(gelu_tanh_inner(xv));
            const __m256 du =
                _mm256_mul_ps(set1(kSqrt2OverPi), _mm256_fmadd_ps(set1(3 * kGeluCubic), _mm256_mul_ps(xv, xv), one));
            const __m256 left = _mm256_mul_ps(half, _mm256_add_ps(one, t));
            const __m256 right = _mm256_mul_ps(_mm256_mul_ps(half, xv), _mm256_mul_ps(_mm256_fnmadd_ps(t, t, one), du));
            return _mm256_mul_ps(gv, _mm256_add_ps(left, right));
          },
          g, x);
    case UnaryOp::softplus: {
      const __m256 beta = set1(p.beta), threshold = set1(p.threshold);
      return map_f32(
          dx, n,
          [=](__m256 gv, __m256 xv) {
            const __m256 z = _mm256_mul_ps(beta, xv);
            const __m256 slope = _mm256_blendv_ps(vec::sigmoid(z), one, _mm256_cmp_ps(z, threshold, _CMP_GT_OQ));
            return _mm256_mul_ps(gv, slope);
          },
          g, x);
    }
  }
}
#endif

}  // namespace

template <class T>
void unary_fwd_cpu(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& params) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) return unary_fwd_f32(op, x, y, n, params);
#endif
  unary_fwd_scalar(op, x, y, n, params);
}

template <class T>
void unary_bwd_cpu(UnaryOp op, const T* x, const T* y, const T* g, T* dx, std::int64_t n, const UnaryParams& params) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) return unary_bwd_f32(op, x, y, g, dx, n, params);
#endif
  unary_bwd_scalar(op, x, y, g, dx, n, params);
}

template void unary_fwd_cpu<float>(UnaryOp, const float*, float*, std::int64_t, const UnaryParams&);
template void unary_fwd_cpu<double>(UnaryOp, const double*, double*, std::int64_t, const UnaryParams&);
template void unary_bwd_cpu<float>(UnaryOp, const float*, const float*, const float*, float*, std::int64_t,
                                   const UnaryParams&);
template void unary_bwd_cpu<double>(UnaryOp, const double*, const double*, const double*, double*, std::int64_t,
                                    const UnaryParams&);

}  // namespace strata::kernels::cpu
