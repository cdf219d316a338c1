// CUDA kernels of flash attention, forward and backward (kernels/cuda/attention.h), f32 and
// f64 up to head_dim 256. Deterministic: no atomics. The backward's D = rowsum(dO * O)
// workspace and the device copy of the packed documents' starts (which ops keep on the
// host) are allocated here.
#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/attention.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

void attention(const AttentionCall& c) {
  const Tensor seq_start = index_on_device(c.seq_start, c.q->device());
  dispatch_floating(c.q->dtype(), "attention", [&](auto type) {
    using T = decltype(type);
    check(cu::attention_fwd_cuda(attention_args<T>(c, in<std::int64_t>(&seq_start)), c.q->device().index), "attention",
          *c.q);
  });
}

void attention_backward(const AttentionCall& c) {
  const Tensor seq_start = index_on_device(c.seq_start, c.q->device());
  dispatch_floating(c.q->dtype(), "attention backward", [&](auto type) {
    using T = decltype(type);
    cu::AttentionGradArgs<T> g;
    g.fwd = attention_args<T>(c, in<std::int64_t>(&seq_start));
    g.dout = c.dout->data<T>();
    g.dq = c.dq->data<T>();
    g.dk = c.dk->data<T>();
    g.dv = c.dv->data<T>();
    const std::int64_t workspace_size = cu::attention_bwd_workspace_size(g.fwd);
    Tensor workspace = workspace_size ? Tensor::empty({workspace_size}, c.q->dtype(), c.q->device()) : Tensor();
    g.workspace = workspace.defined() ? workspace.data<T>() : nullptr;
    check(cu::attention_bwd_cuda(g, c.q->device().index), "attention backward", *c.q);
  });
}

}  // namespace

void register_attention(CoreKernels& k) {
  // head_dim bounds the per-thread accumulators and shared-memory tiles.
  const auto fits = [](const AttentionCall& c) { return c.head_dim <= cu::kAttentionMaxHeadDim; };
  k.attention.add(
      {.backend = "cuda", .device = DeviceType::cuda, .dtypes = kFloating, .supports = fits, .run = attention});
  k.attention_backward.add({.backend = "cuda",
                            .device = DeviceType::cuda,
                            .dtypes = kFloating,
                            .supports = fits,
                            .run = attention_backward});
}

}  // namespace strata::cuda_backend
