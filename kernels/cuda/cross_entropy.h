#pragma once
// Fused softmax + negative log-likelihood over rows of logits on a CUDA device; twin of
// kernels/cpu/cross_entropy (same argument struct and semantics).
#include <string>

#include "kernels/cpu/cross_entropy.h"

namespace strata::kernels::cuda {

template <class T>
using CrossEntropyArgs = cpu::CrossEntropyArgs<T>;

// Writes loss and lse.
template <class T>
std::string cross_entropy_fwd_cuda(const CrossEntropyArgs<T>& args, int device);
// Writes dlogits from lse, grad (grad_stride 0 or 1) and the targets.
template <class T>
std::string cross_entropy_bwd_cuda(const CrossEntropyArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
