#pragma once
// Mamba's selective scan (S6), fused: forward and backward, f32 and f64, channels last.
//
//   dt[b,t,d]  = softplus?(delta[b,t,d] + delta_bias[d])
//   h[b,t,d,n] = exp(dt * A[d,n]) * h[b,t-1,d,n] + dt * B[b,t,n] * u[b,t,d],  h[b,-1] = h0
//   y[b,t,d]   = (sum_n C[b,t,n] * h[b,t,d,n] + D[d] * u[b,t,d]) * silu?(z[b,t,d])
//
// Design (see docs/ops.md): sequential in time, vectorised over channels (8 f32 lanes
// with AVX2), states of a group of up to 8 kept in registers, threaded over
// (batch, channel group). exp is evaluated as exp2 with A pre-scaled by log2(e). The
// forward stores the state entering every chunk of kSelectiveScanChunk steps; the
// backward walks chunks last to first, recomputes the states inside a chunk from its
// checkpoint and runs the adjoint recurrence. [B, T, D, N] is never stored.
#include <cstdint>

namespace strata::kernels::cpu {

// Steps per chunk: checkpoint spacing of the backward and time block of the forward.
inline constexpr std::int64_t kSelectiveScanChunk = 64;

template <class T>
struct SelectiveScanArgs {
  std::int64_t batch = 0, seq_len = 0, channels = 0, d_state = 0;  // B, T, D, N
  const T* u = nullptr;              // [B, T, D]
  const T* delta = nullptr;          // [B, T, D] before bias and softplus
  const T* A = nullptr;              // [D, N]
  const T* B = nullptr;              // [B, T, N]
  const T* C = nullptr;              // [B, T, N]
  const T* D = nullptr;              // [D] or null
  const T* z = nullptr;              // [B, T, D] or null
  const T* delta_bias = nullptr;     // [D] or null
  const T* initial_state = nullptr;  // [B, D, N] or null (zeros)
  bool delta_softplus = false;
  // Packed documents (strata/packing.h): [B, T], where each step's document starts; the
  // state restarts from zero at every start after t = 0. Null: one sequence per row.
  const std::int64_t* seq_start = nullptr;

  // forward outputs
  T* y = nullptr;            // [B, T, D]
  T* final_state = nullptr;  // [B, D, N] or null
  // [B, chunks, N, D]: the state entering each chunk; written by the forward when not
  // null, read by the backward (selective_scan_checkpoint_size elements).
  T* checkpoints = nullptr;

  // backward: inputs
  const T* dy = nullptr;           // [B, T, D]
  const T* dfinal_state = nullptr;  // [B, D, N] or null (zeros)
  // backward: outputs, overwritten; each may be null when not wanted, except du/ddelta
  T* du = nullptr;               // [B, T, D]
  T* ddelta = nullptr;           // [B, T, D] (gradient of the raw delta)
  T* dA = nullptr;               // [D, N]
  T* dB = nullptr;               // [B, T, N]
  T* dC = nullptr;               // [B, T, N]
  T* dD = nullptr;               // [D]
  T* dz = nullptr;               // [B, T, D]
  T* ddelta_bias = nullptr;      // [D]
  T* dinitial_state = nullptr;   // [B, D, N]
  T* workspace = nullptr;        // selective_scan_bwd_workspace_size elements
};

// Elements of the checkpoint buffer: B * ceil(T / chunk) * N * D.
std::int64_t selective_scan_checkpoint_size(std::int64_t batch, std::int64_t seq_len, std::int64_t channels,
                                            std::int64_t d_state);

// Elements of backward scratch (partial sums reduced in a fixed order, so results do not
// depend on the thread count): O(B * T * N * D / 128 + B * D * N).
std::int64_t selective_scan_bwd_workspace_size(std::int64_t batch, std::int64_t seq_len, std::int64_t channels,
                                               std::int64_t d_state);

template <class T>
void selective_scan_fwd_cpu(const SelectiveScanArgs<T>& args);

// Needs the checkpoints written by the forward over the same inputs.
template <class T>
void selective_scan_bwd_cpu(const SelectiveScanArgs<T>& args);

}  // namespace strata::kernels::cpu
