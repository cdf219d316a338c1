#pragma once
// Scaled dot-product attention over heads, with causal and sliding-window masks and
// grouped-query sharing of key/value heads.
#include <cstdint>

#include "strata/tensor.h"

namespace strata {

enum class AttentionImpl {
  flash,  // tiled kernel with an online softmax: never stores the [T, S] scores
  naive,  // materialises softmax(scale * Q K^T) per head (for comparison and the labs)
};

struct AttentionOptions {
  bool causal = true;
  // > 0: query row i sees only the `window` most recent positions, itself included
  // (keys j with p_i - window < j <= p_i). Needs causal.
  std::int64_t window = 0;
  double scale = 0;  // scores = scale * q . k; 0 means 1 / sqrt(head_dim)
  // Key index of query row 0's position; -1 means S - T (the queries are the last T of
  // the S key positions: a full sequence, or the new tokens after a KV cache).
  std::int64_t query_offset = -1;
  AttentionImpl impl = AttentionImpl::flash;
  // Packed documents (strata/packing.h): [B, T] i64, where each query row's document starts;
  // a row sees no key before it. Needs causal self-attention (S == T, query_offset 0).
  // Undefined: one sequence per row.
  Tensor sequence_starts;
};

// q: [B, T, Hq, d], k, v: [B, S, Hkv, d] with Hq a multiple of Hkv (query head h reads
// key/value head h / (Hq / Hkv): MHA when equal, MQA when Hkv = 1) -> [B, T, Hq, d].
// Differentiable in q, k and v. The flash path reads q/k/v views in place when their
// last two dims are contiguous (e.g. slices of a fused qkv projection).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options = {});

}  // namespace strata
