#pragma once
// RMSNorm and LayerNorm over rows on a CUDA device, forward and backward; twins of
// kernels/cpu/rmsnorm and kernels/cpu/layernorm (same argument structs and semantics:
// weight/bias optional, dweight/dbias optional and overwritten).
#include <string>

#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rmsnorm.h"

namespace strata::kernels::cuda {

template <class T>
using RmsNormArgs = cpu::RmsNormArgs<T>;
template <class T>
using LayerNormArgs = cpu::LayerNormArgs<T>;

template <class T>
std::string rmsnorm_fwd_cuda(const RmsNormArgs<T>& args, int device);
template <class T>
std::string rmsnorm_bwd_cuda(const RmsNormArgs<T>& args, int device);
template <class T>
std::string layernorm_fwd_cuda(const LayerNormArgs<T>& args, int device);
template <class T>
std::string layernorm_bwd_cuda(const LayerNormArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
