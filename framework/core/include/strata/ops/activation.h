#pragma once
// Gated activations.
#include "strata/tensor.h"

namespace strata {

// gate, up: [..., H] -> [..., H];  silu(gate) * up
Tensor swiglu(const Tensor& gate, const Tensor& up);
// x: [..., 2H] holding [gate | up] (one fused projection) -> [..., H]
Tensor swiglu(const Tensor& x);

}  // namespace strata
