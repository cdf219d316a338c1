#pragma once
// Elementwise arithmetic with numpy broadcasting, and pointwise activations.
// All are differentiable in every floating input; both operands of a binary op must
// have the same dtype and device.
#include "strata/tensor.h"

namespace strata {

// out: broadcast(a.shape, b.shape)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);

// With a scalar operand.
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor scale(const Tensor& x, double factor);  // x * factor
Tensor neg(const Tensor& x);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);

// Pointwise functions; out has x's shape.
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor silu(const Tensor& x);  // x * sigmoid(x)

enum class GeluApprox { none, tanh };  // none: x * Phi(x) with erf; tanh: GPT-2's approximation
Tensor gelu(const Tensor& x, GeluApprox approx = GeluApprox::none);

// log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);

// Sums `grad` over the dimensions that broadcasting expanded so that it has `shape`
// (the backward of every broadcasting op). grad.shape must broadcast from `shape`.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace strata
