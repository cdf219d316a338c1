#pragma once
// cuDNN's fused scaled-dot-product attention (its flash-attention engines, built through
// the cuDNN frontend's graph API) for bf16 and f16 q, k, v, forward and backward: what the
// bf16 mixed-precision policy runs attention with on an NVIDIA GPU (docs/precision.md).
// The products run on tensor cores with f32 accumulation, the softmax and its statistics
// in f32; the probabilities are rounded to the I/O type before they multiply V.
//
// Same layouts and masks as the own kernel (kernels/cuda/attention.h), restricted to the
// training form: q [B, T, Hq, d], k, v [B, S, Hkv, d], out [B, T, Hq, d] contiguous
// (cuDNN's "BSHD" strides), Hq a multiple of Hkv (GQA/MQA); no mask, or causal with query
// i at key position i (query_offset 0: cuDNN's top-left diagonal), with an optional
// sliding window of W keys (self included: key j is seen when i - W < j <= i). Decoding
// against a cache (query_offset > 0) and packed documents stay on the own kernel.
// stats [B, Hq, T] f32 is what the forward leaves for the backward (the rows' log-sum-exp).
// The backward is cuDNN's deterministic algorithm (no atomics), like the own kernel.
//
// Graphs are built once per (device, shape, options, direction) and cached (at most 256;
// the cache is emptied when full). A shape cuDNN refuses is remembered as refused, so the
// caller falls back to the own kernel at the cost of one map lookup. Every function returns
// an error string, empty on success, and does not synchronise.
#include <compare>
#include <cstdint>
#include <string>

namespace strata::kernels::cuda {

enum class CudnnAttentionIo { bf16, f16 };

struct CudnnAttentionShape {
  std::int64_t batch = 0, q_len = 0, kv_len = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  bool causal = false;      // query i sees keys j <= i
  std::int64_t window = 0;  // with causal: keys within the last `window` positions (self included); 0: none
  double scale = 1;
  CudnnAttentionIo io = CudnnAttentionIo::bf16;
  auto operator<=>(const CudnnAttentionShape&) const = default;  // the plan cache's key
};

// Empty when this build has cuDNN and cuDNN runs both the shape's forward and its backward
// on `device` (asked together, so a shape runs the same way in training and evaluation);
// otherwise why not: no cuDNN in this build, cuDNN or the GPU cannot be used, or cuDNN
// refuses the shape (its message).
std::string cudnn_attention_supported(const CudnnAttentionShape& shape, int device);

// The workspace the plan needs (bytes), after cudnn_attention_supported said yes.
std::string cudnn_attention_workspace(const CudnnAttentionShape& shape, bool backward, int device, std::int64_t* bytes);

// Device pointers; the I/O tensors are bf16 or f16 as shape.io says.
struct CudnnAttentionArgs {
  CudnnAttentionShape shape;
  const void* q = nullptr;     // [B, T, Hq, d]
  const void* k = nullptr;     // [B, S, Hkv, d]
  const void* v = nullptr;     // [B, S, Hkv, d]
  void* out = nullptr;         // [B, T, Hq, d]: the forward writes it, the backward reads it
  float* stats = nullptr;      // [B, Hq, T]: likewise
  const void* dout = nullptr;  // [B, T, Hq, d] (backward)
  void* dq = nullptr;          // [B, T, Hq, d] (backward, overwritten)
  void* dk = nullptr;          // [B, S, Hkv, d] (backward, overwritten)
  void* dv = nullptr;          // [B, S, Hkv, d] (backward, overwritten)
  void* workspace = nullptr;   // cudnn_attention_workspace bytes
};

// The cuDNN frontend's own checks of the graph for a GPU of compute capability `sm_version`
// (90: Hopper; 121: GB10), which need no GPU: the layouts, masks and sizes as cuDNN's
// validation sees them, before any plan is built. Empty when the graph is valid.
std::string cudnn_attention_validate(const CudnnAttentionShape& shape, bool backward, int sm_version);

// Whether this library was built with cuDNN (the emulated GPU's never is).
bool cudnn_built();

// "cuDNN 9.19.0 (frontend 1.32.0)" with the loaded library's version, or why there is none.
std::string cudnn_description();

std::string cudnn_attention_fwd(const CudnnAttentionArgs& args, int device);
std::string cudnn_attention_bwd(const CudnnAttentionArgs& args, int device);

}  // namespace strata::kernels::cuda
