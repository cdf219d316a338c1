#pragma once
// The pointwise functions of UnaryOp and their derivatives, one scalar formula each, shared
// by the CPU's scalar (f64 reference) path and the CUDA kernels, so both backends compute
// the same expressions. Plain C++17: nvcc compiles it for the device too. Only <cmath>
// functions that CUDA also provides in device code, and ternaries rather than std::max /
// std::abs (constexpr templates that device code cannot call without
// --expt-relaxed-constexpr).
#include <cmath>

#include "kernels/host_device.h"
#include "kernels/op_kinds.h"

namespace strata::kernels {

inline constexpr double kSqrtHalf = 0.70710678118654752440;  // 1 / sqrt(2) (std::numbers::sqrt2 / 2)
inline constexpr double kSqrt2OverPi = 0.7978845608028654;   // sqrt(2 / pi)
inline constexpr double kInvSqrt2Pi = 0.3989422804014327;    // 1 / sqrt(2 pi)
inline constexpr double kGeluCubic = 0.044715;               // GPT-2's tanh approximation

// 1 / (1 + exp(-x)), evaluating exp only at non-positive arguments so neither branch overflows.
template <class T>
STRATA_HOST_DEVICE inline T sigmoid_stable(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// y = f(x).
template <class T>
STRATA_HOST_DEVICE inline T unary_forward(UnaryOp op, T x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::exp:
      return std::exp(x);
    case UnaryOp::log:
      return std::log(x);
    case UnaryOp::sqrt:
      return std::sqrt(x);
    case UnaryOp::square:
      return x * x;
    case UnaryOp::tanh:
      return std::tanh(x);
    case UnaryOp::sigmoid:
      return sigmoid_stable(x);
    case UnaryOp::relu:  // NaN propagates
      return x > 0 || std::isnan(x) ? x : T(0);
    case UnaryOp::silu:
      return x * sigmoid_stable(x);
    case UnaryOp::gelu_erf:
      return T(0.5) * x * (T(1) + std::erf(x * T(kSqrtHalf)));
    case UnaryOp::gelu_tanh:
      return T(0.5) * x * (T(1) + std::tanh(T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x)));
    case UnaryOp::softplus: {
      // linear above the threshold; else max(z, 0) + log1p(exp(-|z|)), stable for any z
      const T beta = T(p.beta), threshold = T(p.threshold);
      const T z = beta * x;
      const T positive = z < T(0) ? T(0) : z;  // std::max(z, 0), NaN kept as std::max does
      return z > threshold ? x : (positive + std::log1p(std::exp(-std::fabs(z)))) / beta;
    }
  }
  return x;  // not reached: every op is handled above
}

// dx = g * f'(x), from `saved`: the forward output y where unary_bwd_uses_output(op)
// (exp, sqrt, tanh, sigmoid), else the input x.
template <class T>
STRATA_HOST_DEVICE inline T unary_backward(UnaryOp op, T g, T saved, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::exp:  // saved = y
      return g * saved;
    case UnaryOp::log:
      return g / saved;
    case UnaryOp::sqrt:  // saved = y
      return g * T(0.5) / saved;
    case UnaryOp::square:
      return T(2) * g * saved;
    case UnaryOp::tanh:  // saved = y
      return g * (T(1) - saved * saved);
    case UnaryOp::sigmoid:  // saved = y
      return g * saved * (T(1) - saved);
    case UnaryOp::relu:
      return saved > 0 ? g : T(0);
    case UnaryOp::silu: {
      const T s = sigmoid_stable(saved);
      return g * s * (T(1) + saved * (T(1) - s));
    }
    case UnaryOp::gelu_erf: {
      const T x = saved;
      const T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrtHalf)));
      return g * (cdf + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x));
    }
    case UnaryOp::gelu_tanh: {
      const T x = saved;
      const T t = std::tanh(T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x));
      const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
    }
    case UnaryOp::softplus: {
      const T z = T(p.beta) * saved;
      return z > T(p.threshold) ? g : g * sigmoid_stable(z);
    }
  }
  return g;  // not reached
}

}  // namespace strata::kernels
