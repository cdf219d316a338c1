#pragma once
// Flash attention on a CUDA device (FlashAttention-2, Dao 2023), forward and backward: twin
// of kernels/cpu/attention (same layouts, masks and formulas: see kernels/cpu/attention.h).
// The T x S score matrix is never stored: the forward keeps an online softmax per query
// row, the backward recomputes the probabilities from the forward's log-sum-exp. Both are
// deterministic (no atomics): a block owns every value it writes. All pointers are device
// pointers; the functions return an error string (empty on success) and do not synchronise.
//
// Shapes: B batch, T query rows, S key rows, Hq query heads, Hkv key/value heads (Hq a
// multiple of Hkv; query head h reads key/value head h / (Hq / Hkv)), d head_dim <= 256.
// Query row i sits at key position query_offset + i: with causal masking it sees keys
// j <= query_offset + i, with a window W only keys j > query_offset + i - W, and with packed
// documents no key before seq_start[b, i]. A row that sees no key gets out 0, lse -inf.
#include <cstdint>
#include <string>

#include "kernels/cpu/attention.h"

namespace strata::kernels::cuda {

// The largest head_dim the kernels take (registers and shared memory are sized for it).
inline constexpr std::int64_t kAttentionMaxHeadDim = 256;

// The CPU kernel's arguments (kernels/cpu/attention.h), with device pointers; seq_start
// [B, T] too is on the device.
template <class T>
using AttentionArgs = cpu::AttentionArgs<T>;

template <class T>
struct AttentionGradArgs {
  AttentionArgs<T> fwd;     // the forward's arguments, with out and lse as it produced them
  const T* dout = nullptr;  // [B, T, Hq, d] contiguous
  T* dq = nullptr;          // [B, T, Hq, d] contiguous, overwritten
  T* dk = nullptr;          // [B, S, Hkv, d] contiguous, overwritten
  T* dv = nullptr;          // [B, S, Hkv, d] contiguous, overwritten
  // [B, Hq, T] on the device: D_i = rowsum(dout * out), filled by the backward.
  T* workspace = nullptr;
};

// Elements of AttentionGradArgs::workspace the backward needs.
template <class T>
std::int64_t attention_bwd_workspace_size(const AttentionArgs<T>& a) {
  return a.batch * a.n_heads * a.q_len;
}

// One block per (batch, query head, query tile). T: float, double.
template <class T>
std::string attention_fwd_cuda(const AttentionArgs<T>& args, int device);

// Split-key attention for decoding (kernels/cuda/attention_decode.cu): few query rows (the
// query heads of a key/value group times the query rows, at most kDecodeMaxRows) against
// more than kDecodeKeys keys, without packed documents. The same results as
// attention_fwd_cuda (out and lse), summed in another order; the split size is fixed, so
// the results do not depend on the GPU.
inline constexpr std::int64_t kDecodeKeys = 256;    // keys per split
inline constexpr std::int64_t kDecodeRows = 16;     // query rows per block
inline constexpr std::int64_t kDecodeMaxRows = 64;  // group x q_len it takes
// The number of splits for these arguments; 0 where the split-key kernel does not apply.
template <class T>
std::int64_t attention_decode_splits(const AttentionArgs<T>& args);
// Elements of workspace attention_decode_cuda needs: [B, Hq, T, splits, d + 2].
template <class T>
std::int64_t attention_decode_workspace_size(const AttentionArgs<T>& args);
template <class T>
std::string attention_decode_cuda(const AttentionArgs<T>& args, T* workspace, int device);

// dK, dV: one block per (batch, key/value head, key tile), summing over the query heads
// of its group; dQ: one block per (batch, query head, query tile). T: float, double.
template <class T>
std::string attention_bwd_cuda(const AttentionGradArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
