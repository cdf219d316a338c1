#pragma once
// Reductions over axes.
#include <initializer_list>
#include <span>

#include "strata/tensor.h"

namespace strata {

// x: [...]; axes: dims to reduce (negative allowed, no repeats). keepdim keeps them as 1.
// An empty axis list reduces nothing (returns a copy); use the overloads without axes
// for a full reduction to a scalar.
Tensor sum(const Tensor& x, std::span<const int> axes, bool keepdim = false);
Tensor sum(const Tensor& x, std::initializer_list<int> axes, bool keepdim = false);
Tensor sum(const Tensor& x);  // rank-0
Tensor mean(const Tensor& x, std::span<const int> axes, bool keepdim = false);
Tensor mean(const Tensor& x, std::initializer_list<int> axes, bool keepdim = false);
Tensor mean(const Tensor& x);  // rank-0

// Whether every element is finite (no NaN, no inf); not differentiable. The trainer's
// divergence guard uses it to name the first bad activation or gradient.
bool all_finite(const Tensor& x);

}  // namespace strata
