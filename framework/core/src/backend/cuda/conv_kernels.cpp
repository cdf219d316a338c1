// CUDA kernels of the causal depthwise conv1d entries (Mamba's short conv), forward and
// backward. Deterministic: the backward's dweight / dbias reduce in a fixed order.
#include <cstdint>

#include "backend/cuda/cuda_backend.h"
#include "kernels/cuda/causal_conv1d.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

template <class T>
cu::CausalConv1dArgs<T> conv_args(const CausalConvCall& c, const Tensor& seq_start) {
  cu::CausalConv1dArgs<T> a;
  a.batch = c.batch;
  a.seq_len = c.seq_len;
  a.channels = c.channels;
  a.kernel_size = c.kernel_size;
  a.x = c.x->data<T>();
  a.weight = c.weight->data<T>();
  a.bias = in<T>(c.bias);
  a.initial = in<T>(c.initial);
  a.seq_start = in<std::int64_t>(&seq_start);
  return a;
}

void causal_conv1d(const CausalConvCall& c) {
  const Tensor seq_start = index_on_device(c.seq_start, c.x->device());
  dispatch_floating(c.x->dtype(), "causal_conv1d", [&](auto type) {
    using T = decltype(type);
    cu::CausalConv1dArgs<T> a = conv_args<T>(c, seq_start);
    a.y = c.y->data<T>();
    check(cu::causal_conv1d_fwd_cuda(a, c.y->device().index), "causal_conv1d", *c.y);
  });
}

void causal_conv1d_backward(const CausalConvCall& c) {
  const Tensor seq_start = index_on_device(c.seq_start, c.x->device());
  dispatch_floating(c.x->dtype(), "causal_conv1d backward", [&](auto type) {
    using T = decltype(type);
    cu::CausalConv1dArgs<T> a = conv_args<T>(c, seq_start);
    a.dy = c.dy->data<T>();
    a.dx = c.dx->data<T>();
    a.dweight = out<T>(c.dweight);
    a.dbias = out<T>(c.dbias);
    a.dinitial = out<T>(c.dinitial);
    check(cu::causal_conv1d_bwd_cuda(a, c.dx->device().index), "causal_conv1d backward", *c.dx);
  });
}

}  // namespace

void register_causal_conv(CoreKernels& k) {
  add(k.causal_conv1d, kFloating, causal_conv1d);
  add(k.causal_conv1d_backward, kFloating, causal_conv1d_backward);
}

}  // namespace strata::cuda_backend
