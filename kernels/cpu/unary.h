#pragma once
// Pointwise functions and their derivatives. f32 runs through the AVX2 vector math of
// vec_math.h when available; f64 uses the std:: functions (it is the reference path).
#include "kernels/op_kinds.h"
#include <cstdint>

namespace strata::kernels::cpu {

using UnaryOp = kernels::UnaryOp;
using UnaryParams = kernels::UnaryParams;
using kernels::unary_bwd_uses_output;

// y[i] = f(x[i]); y may alias x.
template <class T>
void unary_fwd_cpu(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& params = {});

// dx[i] = g[i] * f'(x[i]), using the forward output y where that is cheaper
// (exp, sqrt, tanh, sigmoid use y; the others use x). dx may alias g.
template <class T>
void unary_bwd_cpu(UnaryOp op, const T* x, const T* y, const T* g, T* dx, std::int64_t n,
                   const UnaryParams& params = {});


}  // namespace strata::kernels::cpu
