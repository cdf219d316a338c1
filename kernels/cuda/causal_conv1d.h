#pragma once
// Causal depthwise conv1d (Mamba's short conv) on a CUDA device, forward and backward;
// twin of kernels/cpu/causal_conv1d (same argument struct and semantics: bias, initial,
// seq_start optional; dx always written, dweight / dbias / dinitial written when non-null;
// every output overwritten, never accumulated; no activation). All pointers are device
// pointers; the functions return an error string (empty on success) and do not synchronise.
#include <string>

#include "kernels/cpu/causal_conv1d.h"

namespace strata::kernels::cuda {

template <class T>
using CausalConv1dArgs = cpu::CausalConv1dArgs<T>;

// y. T: float, double.
template <class T>
std::string causal_conv1d_fwd_cuda(const CausalConv1dArgs<T>& args, int device);

// dx and the non-null ones of dinitial, dweight, dbias. Deterministic: dweight / dbias sum
// over (b, t) in a fixed order (no atomics), so repeated runs agree bit for bit.
template <class T>
std::string causal_conv1d_bwd_cuda(const CausalConv1dArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
