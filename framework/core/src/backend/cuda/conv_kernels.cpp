// CUDA kernels of the causal depthwise conv1d entries (Mamba's short conv), forward and
// backward. Deterministic: the backward's dweight / dbias reduce in a fixed order.
#include <cstdint>

#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/causal_conv1d.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

void causal_conv1d(const CausalConvCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.x->device());
  dispatch_floating(c.x->dtype(), "causal_conv1d", [&](auto type) {
    using T = decltype(type);
    check(cu::causal_conv1d_fwd_cuda(conv_args<T>(c, in<std::int64_t>(&seq_start)), c.y->device().index),
          "causal_conv1d", *c.y);
  });
}

void causal_conv1d_backward(const CausalConvCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.x->device());
  dispatch_floating(c.x->dtype(), "causal_conv1d backward", [&](auto type) {
    using T = decltype(type);
    check(cu::causal_conv1d_bwd_cuda(conv_args<T>(c, in<std::int64_t>(&seq_start)), c.dx->device().index),
          "causal_conv1d backward", *c.dx);
  });
}

}  // namespace

void register_causal_conv(CoreKernels& k) {
  add(k.causal_conv1d, kFloating, causal_conv1d);
  add(k.causal_conv1d_backward, kFloating, causal_conv1d_backward);
}

}  // namespace strata::cuda_backend
