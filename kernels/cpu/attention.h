#pragma once
// Scaled dot-product attention, forward and backward, tiled with an online softmax
// (FlashAttention-2's algorithm on the CPU): the T x S score matrix is never stored; a
// thread holds one [query tile x key tile] block of scores at a time, and the backward
// recomputes the probabilities from the saved log-sum-exp of each query row. Extra
// memory: O(threads x tile) plus the [B, H, T] log-sum-exp, and in the backward of
// grouped-query attention a workspace for per-query-head dK/dV partials, O(S) as well.
//
// Shapes: B batch, T query rows, S key rows, Hq query heads, Hkv key/value heads (Hq a
// multiple of Hkv; query head h reads key/value head h / (Hq / Hkv)), d head_dim.
// Query row i sits at key position query_offset + i: with causal masking it sees keys
// j <= query_offset + i, and with a window W only keys j > query_offset + i - W. With
// packed documents it sees no key before its document's start, and key tiles that no row
// of a query tile can see are skipped, not computed and masked.
#include <algorithm>
#include <cstdint>

#include "kernels/op_kinds.h"

namespace strata::kernels::cpu {

using kernels::attention_visible_keys;
using kernels::VisibleKeys;

template <class T>
struct AttentionArgs {
  std::int64_t batch = 0, q_len = 0, kv_len = 0;
  std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  std::int64_t query_offset = 0;  // key position of query row 0 (0 <= offset <= S - T when causal)
  bool causal = true;
  std::int64_t window = 0;  // 0: unlimited; else keys within the last `window` positions (self included)
  T scale = 1;              // scores = scale * q . k
  // Packed documents (strata/packing.h): [B, T], the key index where query row i's
  // document begins; row i sees no key before it. Null: one sequence per row. Needs
  // causal, T == S and query_offset 0 (self-attention over the same rows).
  const std::int64_t* seq_start = nullptr;

  // Inputs with the head dims contiguous and heads adjacent: element (b, i, h, c) of q
  // is at q[b * q_stride_b + i * q_stride_t + h * d + c] (likewise k and v with Hkv heads).
  const T* q = nullptr;  // [B, T, Hq, d]
  std::int64_t q_stride_b = 0, q_stride_t = 0;
  const T* k = nullptr;  // [B, S, Hkv, d]
  std::int64_t k_stride_b = 0, k_stride_t = 0;
  const T* v = nullptr;  // [B, S, Hkv, d]
  std::int64_t v_stride_b = 0, v_stride_t = 0;

  T* out = nullptr;  // [B, T, Hq, d] contiguous; forward output, backward input
  T* lse = nullptr;  // [B, Hq, T] log-sum-exp of each row's scaled scores; forward output
                     // (may be null), backward input; -inf for a row that sees no key
};

template <class T>
struct AttentionGradArgs {
  AttentionArgs<T> fwd;    // the forward's arguments, with out and lse as it produced them
  const T* dout = nullptr;  // [B, T, Hq, d] contiguous
  T* dq = nullptr;          // [B, T, Hq, d] contiguous, overwritten
  T* dk = nullptr;          // [B, S, Hkv, d] contiguous, overwritten
  T* dv = nullptr;          // [B, S, Hkv, d] contiguous, overwritten
  // Per-query-head dK/dV partials [2, B, Hq, S, d], needed when Hkv < Hq (else unused).
  T* workspace = nullptr;
};

// Elements of AttentionGradArgs::workspace the backward needs for these arguments.
template <class T>
std::int64_t attention_bwd_workspace_size(const AttentionArgs<T>& a) {
  return a.n_kv_heads < a.n_heads ? 2 * a.batch * a.n_heads * a.kv_len * a.head_dim : 0;
}

// Threaded over (batch, query head, query tile).
template <class T>
void attention_fwd_cpu(const AttentionArgs<T>& args);

// Threaded over (batch, query head); with Hkv < Hq the per-head partials of dK/dV are
// summed in head order afterwards, so results do not depend on the thread count.
template <class T>
void attention_bwd_cpu(const AttentionGradArgs<T>& args);

}  // namespace strata::kernels::cpu
