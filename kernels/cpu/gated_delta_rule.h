#pragma once
// The gated delta rule (Yang, Kautz and Hatamizadeh, "Gated Delta Networks", ICLR 2025),
// chunked in the WY / UT-transform form: forward and fused backward, f32 and f64.
//
// Per batch b and value head h (key head hk = h / (H / Hk) of q and k), state S: [K, V]:
//   S[t] = exp(g[t]) S[t-1]
//   S[t] += k[t] (beta[t] (v[t] - S[t]^T k[t]))^T        (the delta rule on the decayed state)
//   o[t] = S[t]^T (scale q[t])                            S[-1] = initial_state (zeros)
//
// Chunks of L steps, gam the cumulative g inside the chunk, D[i,j] = exp(gam_i - gam_j) for
// j <= i: with the strictly lower M[i,j] = beta_i (k_i . k_j) D[i,j], the chunk's deltas are
//   Delta = (I + M)^-1 (beta v) - (I + M)^-1 (beta exp(gam) k) S_in       (UT transform)
//   o_i   = exp(gam_i) S_in^T q_i + sum_{j <= i} (q_i . k_j) D[i,j] Delta_j
//   S_out = exp(gam_last) S_in + sum_j exp(gam_last - gam_j) k_j Delta_j^T
// (flash-linear-attention's chunk_gated_delta_rule and transformers' torch_chunk_gated_delta_rule
// compute the same). (I + M)^-1 is formed once per chunk and applied by products; the
// forward keeps the state
// entering each chunk ([B, H, chunks, K, V]) and the backward walks the chunks last to first
// from those. Threaded over (batch, value head), each thread's buffers carved from the
// caller's scratch; q and k gradients are summed over the value heads of a key head afterwards.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct GatedDeltaRuleArgs {
  std::int64_t batch = 0, seq_len = 0, heads = 0, key_heads = 0, key_dim = 0, value_dim = 0;  // B T H Hk K V
  std::int64_t chunk = 32;                                                                   // L
  T scale = 1;                       // multiplies q
  const T* q = nullptr;              // [B, T, Hk, K]
  const T* k = nullptr;              // [B, T, Hk, K]
  const T* v = nullptr;              // [B, T, H, V]
  const T* g = nullptr;              // [B, T, H], log decay (<= 0)
  const T* beta = nullptr;           // [B, T, H]
  const T* initial_state = nullptr;  // [B, H, K, V] or null (zeros)
  // Packed documents (strata/packing.h): [B, T] document starts; chunks then run from each
  // document start and a document after t = 0 starts from a zero state. Null: unpacked.
  const std::int64_t* seq_start = nullptr;

  T* o = nullptr;             // [B, T, H, V]
  T* final_state = nullptr;   // [B, H, K, V]
  T* chunk_states = nullptr;  // [B, H, chunks, K, V]: written by the forward, read by the backward

  // backward
  const T* dout = nullptr;          // [B, T, H, V]
  const T* dfinal_state = nullptr;  // [B, H, K, V] or null (zeros)
  T* dq = nullptr;                  // [B, T, Hk, K]
  T* dk = nullptr;                  // [B, T, Hk, K]
  T* dv = nullptr;                  // [B, T, H, V]
  T* dg = nullptr;                  // [B, T, H]
  T* dbeta = nullptr;               // [B, T, H]
  T* dinitial_state = nullptr;      // [B, H, K, V] or null
  T* workspace = nullptr;           // gated_delta_rule_bwd_workspace_size elements

  // Per-thread buffers: scratch_threads slices of gated_delta_rule_scratch_size elements
  // (forward or backward), from the caller's caching allocator so that no call allocates.
  T* scratch = nullptr;
  std::int64_t scratch_threads = 1;
};

// Elements of chunk_states; seq_start as in GatedDeltaRuleArgs (null: unpacked).
std::int64_t gated_delta_rule_chunk_states_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                                std::int64_t key_dim, std::int64_t value_dim, std::int64_t chunk,
                                                const std::int64_t* seq_start);
// Elements of one thread's scratch for the forward (backward = false) or the backward.
std::int64_t gated_delta_rule_scratch_size(std::int64_t batch, std::int64_t seq_len, std::int64_t chunk,
                                           const std::int64_t* seq_start, std::int64_t key_dim, std::int64_t value_dim,
                                           bool backward);
std::int64_t gated_delta_rule_bwd_workspace_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                                 std::int64_t key_dim);

template <class T>
void gated_delta_rule_fwd_cpu(const GatedDeltaRuleArgs<T>& a);
template <class T>
void gated_delta_rule_bwd_cpu(const GatedDeltaRuleArgs<T>& a);

}  // namespace strata::kernels::cpu
