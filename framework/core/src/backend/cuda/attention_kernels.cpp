// CUDA kernels of flash attention, forward and backward (kernels/cuda/attention.h), f32 and
// f64 up to head_dim 256. Deterministic: no atomics. The backward's D = rowsum(dO * O)
// workspace and the device copy of the packed documents' starts (which ops keep on the
// host) are allocated here.
#include "backend/cuda/cuda_backend.h"
#include "kernels/cuda/attention.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

template <class T>
cu::AttentionArgs<T> attention_args(const AttentionCall& c, const Tensor& seq_start) {
  cu::AttentionArgs<T> a;
  a.batch = c.batch;
  a.q_len = c.q_len;
  a.kv_len = c.kv_len;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim;
  a.query_offset = c.query_offset;
  a.causal = c.causal;
  a.window = c.window;
  a.scale = T(c.scale);
  a.seq_start = seq_start.defined() ? seq_start.data<std::int64_t>() : nullptr;
  a.q = c.q->data<T>();
  a.q_stride_b = c.q->strides()[0];
  a.q_stride_t = c.q->strides()[1];
  a.k = c.k->data<T>();
  a.k_stride_b = c.k->strides()[0];
  a.k_stride_t = c.k->strides()[1];
  a.v = c.v->data<T>();
  a.v_stride_b = c.v->strides()[0];
  a.v_stride_t = c.v->strides()[1];
  a.out = c.out->data<T>();  // read-only in the backward
  a.lse = out<T>(c.lse);
  return a;
}

void attention(const AttentionCall& c) {
  const Tensor seq_start = index_on_device(c.seq_start, c.q->device());
  dispatch_floating(c.q->dtype(), "attention", [&](auto type) {
    using T = decltype(type);
    check(cu::attention_fwd_cuda(attention_args<T>(c, seq_start), c.q->device().index), "attention", *c.q);
  });
}

void attention_backward(const AttentionCall& c) {
  const Tensor seq_start = index_on_device(c.seq_start, c.q->device());
  dispatch_floating(c.q->dtype(), "attention backward", [&](auto type) {
    using T = decltype(type);
    cu::AttentionGradArgs<T> g;
    g.fwd = attention_args<T>(c, seq_start);
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
  k.attention.add({.backend = "cuda", .device = DeviceType::cuda, .dtypes = kFloating, .supports = fits,
                   .run = attention});
  k.attention_backward.add({.backend = "cuda", .device = DeviceType::cuda, .dtypes = kFloating, .supports = fits,
                            .run = attention_backward});
}

}  // namespace strata::cuda_backend
