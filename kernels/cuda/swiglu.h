#pragma once
// SwiGLU h = silu(gate) * up over rows on a CUDA device, forward and backward; twin of
// kernels/cpu/swiglu (same argument struct: gate/up/dgate/dup at row stride in_stride, so
// that a fused [gate | up] projection and its gradient are read and written in place).
#include <string>

#include "kernels/cpu/swiglu.h"

namespace strata::kernels::cuda {

template <class T>
using SwigluArgs = cpu::SwigluArgs<T>;

template <class T>
std::string swiglu_fwd_cuda(const SwigluArgs<T>& args, int device);
template <class T>
std::string swiglu_bwd_cuda(const SwigluArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
