#pragma once
// Softmax and log-softmax over rows on a CUDA device, forward and backward; twin of
// kernels/cpu/softmax (same argument struct and semantics: `out` may alias `g`).
#include <string>

#include "kernels/cpu/softmax.h"

namespace strata::kernels::cuda {

template <class T>
using SoftmaxArgs = cpu::SoftmaxArgs<T>;

// is_log false: out = softmax(x); true: out = log_softmax(x).
template <class T>
std::string softmax_fwd_cuda(const SoftmaxArgs<T>& args, bool is_log, int device);
// x = the forward's output y. is_log false: out = y (g - <g, y>); true: out = g - exp(y) sum(g).
template <class T>
std::string softmax_bwd_cuda(const SoftmaxArgs<T>& args, bool is_log, int device);

}  // namespace strata::kernels::cuda
