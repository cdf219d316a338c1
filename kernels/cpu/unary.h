#pragma once
// Pointwise functions and their derivatives. f32 runs through the AVX2 vector math of
// vec_math.h when available; f64 uses the std:: functions (it is the reference path).
#include <cstdint>

namespace strata::kernels::cpu {

enum class UnaryOp { exp, log, sqrt, square, tanh, sigmoid, relu, silu, gelu_erf, gelu_tanh, softplus };

struct UnaryParams {
  double beta = 1.0;        // softplus
  double threshold = 20.0;  // softplus: linear where beta * x > threshold
};

// y[i] = f(x[i]); y may alias x.
template <class T>
void unary_fwd_cpu(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& params = {});

// dx[i] = g[i] * f'(x[i]), using the forward output y where that is cheaper
// (exp, sqrt, tanh, sigmoid use y; the others use x). dx may alias g.
template <class T>
void unary_bwd_cpu(UnaryOp op, const T* x, const T* y, const T* g, T* dx, std::int64_t n,
                   const UnaryParams& params = {});

// Which saved value the backward of `op` reads: true for the output y, false for x.
constexpr bool unary_bwd_uses_output(UnaryOp op) {
  return op == UnaryOp::exp || op == UnaryOp::sqrt || op == UnaryOp::tanh || op == UnaryOp::sigmoid;
}

}  // namespace strata::kernels::cpu
