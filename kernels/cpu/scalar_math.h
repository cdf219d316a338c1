#pragma once
// Scalar formulas shared by the f64 (reference) paths of several kernels. They live in
// kernels/unary_math.h, shared with the CUDA kernels; the CPU kernels name them from here.
#include "kernels/unary_math.h"

namespace strata::kernels::cpu {

using kernels::sigmoid_stable;

}  // namespace strata::kernels::cpu
