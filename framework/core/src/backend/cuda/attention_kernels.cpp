// CUDA kernels of flash attention, forward and backward: the own kernel (kernels/cuda/
// attention.h), f32 and f64 up to head_dim 256, and cuDNN's fused attention (kernels/cuda/
// attention_cudnn.h) for bf16 and f16 in the shapes cuDNN takes, and for decoding (few
// query rows, a long cache) the own split-key kernel. All deterministic. The
// workspaces and the device copy of the packed documents' starts (which ops keep on the
// host) are allocated here, from the caching allocator.
#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/attention_cudnn.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

// Few query rows against a long cache (decoding) take the split-key kernel, with its
// workspace; everything else the tiled forward.
void attention(const AttentionCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.q->device());
  dispatch_floating(c.q->dtype(), "attention", [&](auto type) {
    using T = decltype(type);
    const cu::AttentionArgs<T> a = attention_args<T>(c, in<std::int64_t>(&seq_start));
    if (cu::attention_decode_splits(a) >= 2) {
      Tensor hold;
      T* workspace =
          static_cast<T*>(scratch(hold, cu::attention_decode_workspace_size(a), c.q->dtype(), c.q->device()));
      check(cu::attention_decode_cuda(a, workspace, device_of(*c.q)), "attention", *c.q);
      return;
    }
    check(cu::attention_fwd_cuda(a, device_of(*c.q)), "attention", *c.q);
  });
}

void attention_backward(const AttentionCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.q->device());
  dispatch_floating(c.q->dtype(), "attention backward", [&](auto type) {
    using T = decltype(type);
    cu::AttentionGradArgs<T> g;
    g.fwd = attention_args<T>(c, in<std::int64_t>(&seq_start));
    g.dout = c.dout->data<T>();
    g.dq = c.dq->data<T>();
    g.dk = c.dk->data<T>();
    g.dv = c.dv->data<T>();
    Tensor hold;
    g.workspace = static_cast<T*>(scratch(hold, cu::attention_bwd_workspace_size(g.fwd), c.q->dtype(), c.q->device()));
    check(cu::attention_bwd_cuda(g, device_of(*c.q)), "attention backward", *c.q);
  });
}

// The call as cuDNN's shape; false when it is not the training form cuDNN is asked for
// (decoding against a cache, packed documents, strided operands).
bool cudnn_shape(const AttentionCall& c, cu::CudnnAttentionShape* shape) {
  if (c.seq_start || c.query_offset != 0 || !c.q->is_contiguous() || !c.k->is_contiguous() || !c.v->is_contiguous())
    return false;
  *shape = {.batch = c.batch,
            .q_len = c.q_len,
            .kv_len = c.kv_len,
            .n_heads = c.n_heads,
            .n_kv_heads = c.n_kv_heads,
            .head_dim = c.head_dim,
            .causal = c.causal,
            .window = c.window,
            .scale = c.scale,
            .io = c.q->dtype() == DType::bf16 ? cu::CudnnAttentionIo::bf16 : cu::CudnnAttentionIo::f16};
  return true;
}

// Whether cuDNN builds both of the call's graphs, forward and backward, whichever runs: so a
// backward is never refused after its forward ran, and a shape runs the same way (cuDNN in
// bf16, or the own kernel in f32) in training and in evaluation.
bool cudnn_takes(const AttentionCall& c) {
  cu::CudnnAttentionShape shape;
  return cudnn_shape(c, &shape) && cu::cudnn_attention_supported(shape, device_of(*c.q)).empty();
}

// The call's pointers for cuDNN, with a workspace from the caching allocator (held by
// `workspace` until the launch is issued).
cu::CudnnAttentionArgs cudnn_args(const AttentionCall& c, bool backward, Tensor& workspace) {
  cu::CudnnAttentionArgs a;
  cudnn_shape(c, &a.shape);
  std::int64_t bytes = 0;
  check(cu::cudnn_attention_workspace(a.shape, backward, device_of(*c.q), &bytes), "cuDNN attention", *c.q);
  a.workspace = scratch(workspace, (bytes + 7) / 8, DType::i64, c.q->device());
  a.q = c.q->raw_data();
  a.k = c.k->raw_data();
  a.v = c.v->raw_data();
  a.out = c.out->raw_data();  // read-only in the backward
  a.stats = c.lse->data<float>();
  return a;
}

void cudnn_attention(const AttentionCall& c) {
  Tensor workspace;
  check(cu::cudnn_attention_fwd(cudnn_args(c, false, workspace), device_of(*c.q)), "cuDNN attention", *c.q);
}

void cudnn_attention_backward(const AttentionCall& c) {
  Tensor workspace;
  cu::CudnnAttentionArgs a = cudnn_args(c, true, workspace);
  a.dout = c.dout->raw_data();
  a.dq = c.dq->raw_data();
  a.dk = c.dk->raw_data();
  a.dv = c.dv->raw_data();
  check(cu::cudnn_attention_bwd(a, device_of(*c.q)), "cuDNN attention backward", *c.q);
}

}  // namespace

void register_attention(CoreKernels& k) {
  // head_dim bounds the per-thread accumulators and shared-memory tiles.
  const auto fits = [](const AttentionCall& c) { return c.head_dim <= cu::kAttentionMaxHeadDim; };
  add(k.attention, kFloating, attention, fits);
  add(k.attention_backward, kFloating, attention_backward, fits);
  // bf16 / f16 (what the bf16 policy runs attention in where this kernel takes the call):
  // cuDNN where the build has it, or nothing, in which case the policy keeps attention in
  // f32 on the own kernel.
  if (!cu::cudnn_built()) return;
  const std::vector<DType> reduced = {DType::bf16, DType::f16};
  add(k.attention, reduced, cudnn_attention, cudnn_takes, "cudnn");
  add(k.attention_backward, reduced, cudnn_attention_backward, cudnn_takes, "cudnn");
}

}  // namespace strata::cuda_backend
