#pragma once
// Mamba-2's state-space duality (SSD) scan, chunked: forward and fused backward, f32 and
// f64 (Dao and Gu 2024, "Transformers are SSMs", section 6; mamba_ssm's ssd_combined).
//
// Per batch b and head h (group g = h / (H / G) of B and C), with a[t] = dt[b,t,h] * A[h]:
//   S[t] = exp(a[t]) * S[t-1] + dt[b,t,h] * x[b,t,h,:] (outer) B[b,t,g,:]     S: [P, N]
//   y[b,t,h,:] = S[t] C[b,t,g,:]                                              S[-1] = h0
// Chunks of L steps: inside a chunk the outputs are the quadratic (attention-like) form
//   y_i = exp(A_i) S_in C_i + sum_{j<=i} (C_i . B_j) exp(A_i - A_j) dt_j x_j,
// A_i the cumulative sum of a within the chunk; between chunks the state passes on as
//   S_out = exp(A_last) S_in + sum_j exp(A_last - A_j) dt_j x_j B_j^T.
// The forward keeps the state entering each chunk ([B, H, chunks, P, N]); the backward
// walks the chunks last to first from those, so [B, T, H, P, N] is never stored. Threaded
// over (batch, head); B and C gradients are summed over the heads of a group afterwards.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct SsdArgs {
  std::int64_t batch = 0, seq_len = 0, heads = 0, head_dim = 0, groups = 0, d_state = 0;  // B T H P G N
  std::int64_t chunk = 64;                                                             // L
  const T* x = nullptr;              // [B, T, H, P]
  const T* dt = nullptr;             // [B, T, H], after bias and softplus
  const T* A = nullptr;              // [H]
  const T* B = nullptr;              // [B, T, G, N]
  const T* C = nullptr;              // [B, T, G, N]
  const T* initial_state = nullptr;  // [B, H, P, N] or null (zeros)
  // Packed documents (strata/packing.h): [B, T], where each step's document starts. Chunks
  // then run from each document start, and the state entering a document after t = 0 is
  // zero. Null: one sequence per row, chunks at multiples of L.
  const std::int64_t* seq_start = nullptr;

  T* y = nullptr;            // [B, T, H, P]
  T* final_state = nullptr;  // [B, H, P, N]
  T* chunk_states = nullptr;  // [B, H, chunks, P, N]: written by the forward, read by the backward
                              // (chunks: the most of any row, ssd_chunk_states_size)

  // backward
  const T* dy = nullptr;           // [B, T, H, P]
  const T* dfinal_state = nullptr;  // [B, H, P, N] or null (zeros)
  T* dx = nullptr;                 // [B, T, H, P]
  T* ddt = nullptr;                // [B, T, H]
  T* dA = nullptr;                 // [H]
  T* dB = nullptr;                 // [B, T, G, N]
  T* dC = nullptr;                 // [B, T, G, N]
  T* dinitial_state = nullptr;     // [B, H, P, N] or null
  T* workspace = nullptr;          // ssd_bwd_workspace_size elements

  // Per-thread buffers (kernels/cpu/scratch.h): scratch_threads slices of ssd_scratch_size
  // elements (forward or backward), from the caller's caching allocator.
  T* scratch = nullptr;
  std::int64_t scratch_threads = 1;
};

// Elements of chunk_states; seq_start as in SsdArgs (null: unpacked).
std::int64_t ssd_chunk_states_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                   std::int64_t head_dim, std::int64_t d_state, std::int64_t chunk,
                                   const std::int64_t* seq_start);
// Elements of one thread's scratch for the forward (backward = false) or the backward.
std::int64_t ssd_scratch_size(std::int64_t chunk, std::int64_t head_dim, std::int64_t d_state, bool backward);
std::int64_t ssd_bwd_workspace_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t d_state);

template <class T>
void ssd_fwd_cpu(const SsdArgs<T>& a);
template <class T>
void ssd_bwd_cpu(const SsdArgs<T>& a);

}  // namespace strata::kernels::cpu
