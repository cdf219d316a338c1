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

namespace strata::kernels::cuda {

// The largest head_dim the kernels take (registers and shared memory are sized for it).
inline constexpr std::int64_t kAttentionMaxHeadDim = 256;

template <class T>
struct AttentionArgs {
  std::int64_t batch = 0, q_len = 0, kv_len = 0;
  std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  std::int64_t query_offset = 0;  // key position of query row 0
  bool causal = true;
  std::int64_t window = 0;  // 0: unlimited; else keys within the last `window` positions (self included)
  T scale = 1;              // scores = scale * q . k
  // Packed documents: [B, T] contiguous on the device, the key index where query row i's
  // document begins (row i sees no key before it); null: one sequence per row.
  const std::int64_t* seq_start = nullptr;

  // Element (b, i, h, c) of q is at q[b * q_stride_b + i * q_stride_t + h * d + c]
  // (likewise k and v with Hkv heads).
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

// dK, dV: one block per (batch, key/value head, key tile), summing over the query heads
// of its group; dQ: one block per (batch, query head, query tile). T: float, double.
template <class T>
std::string attention_bwd_cuda(const AttentionGradArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
