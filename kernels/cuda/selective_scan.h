#pragma once
// Mamba's selective scan (S6) on a CUDA device, forward and backward, f32 and f64: twin of
// kernels/cpu/selective_scan (same argument struct, formulas, packed-document restarts, and
// gradients overwritten, each only when its pointer is not null).
//
//   dt[b,t,d]  = softplus?(delta[b,t,d] + delta_bias[d])
//   h[b,t,d,n] = exp(dt * A[d,n]) * h[b,t-1,d,n] + dt * B[b,t,n] * u[b,t,d],  h[b,-1] = h0
//   y[b,t,d]   = (sum_n C[b,t,n] * h[b,t,d,n] + D[d] * u[b,t,d]) * silu?(z[b,t,d])
//
// Design (kernels/cuda/selective_scan_{fwd,bwd}.cu): one thread per channel (b, d), its
// d_state states in registers (a compile-time bound: for f32 16, 32 or 64, the smallest that
// holds N, for f64 64; larger N is refused); blocks of kScanThreads channels of one sequence stage the
// rows of B and C (shared by all channels) in shared memory, kScanStage steps at a time.
// The forward saves the state entering every chunk of kScanChunk steps (`checkpoints`);
// the backward walks chunks last to first, recomputes each chunk's states from its
// checkpoint and runs the adjoint recurrence. [B, T, D, N] is never stored.
//
// Host wrappers: launch on the default stream of `device` without synchronising; return
// "" or the CUDA error's text.
#include <cstdint>
#include <string>

#include "kernels/cpu/selective_scan.h"
#include "kernels/host_device.h"

namespace strata::kernels::cuda {

template <class T>
using SelectiveScanArgs = cpu::SelectiveScanArgs<T>;

inline constexpr std::int64_t kScanChunk = 64;       // steps between checkpoints
inline constexpr std::int64_t kScanStage = 16;       // steps staged in shared memory; backward recompute window
inline constexpr int kScanThreads = 64;              // channels (threads) per block
inline constexpr std::int64_t kScanMaxState = 64;    // the largest d_state the kernels take
inline constexpr std::int64_t kScanStagesPerChunk = kScanChunk / kScanStage;
static_assert(kScanChunk % kScanStage == 0, "a chunk is a whole number of stages");

STRATA_HOST_DEVICE inline std::int64_t scan_chunk_count(std::int64_t seq_len) { return (seq_len + kScanChunk - 1) / kScanChunk; }
// Warps of channels: the backward's dB/dC partial sums are per warp.
STRATA_HOST_DEVICE inline std::int64_t scan_channel_warps(std::int64_t channels) { return (channels + 31) / 32; }

// Elements of the forward's checkpoints (the backend's `saved`): [B, chunks, N, D], the
// state entering each chunk (N before D, so that a warp's channels are contiguous).
inline std::int64_t selective_scan_checkpoint_size_cuda(std::int64_t batch, std::int64_t seq_len,
                                                        std::int64_t channels, std::int64_t d_state) {
  return batch * scan_chunk_count(seq_len) * d_state * channels;
}

// The backward's workspace, carved from one buffer (`workspace` of the args). Partial sums
// are reduced by a second kernel in a fixed order (no atomics); the state buffers are
// global memory that each thread reads back itself (a per-thread local array would be
// reserved for every thread the GPU can hold, not for the threads launched).
template <class T>
struct SelectiveScanWorkspace {
  T* dB = nullptr;            // [B, W, T, N]: sum over warp w's 32 channels, W = scan_channel_warps(D)
  T* dC = nullptr;            // [B, W, T, N]
  T* dA = nullptr;            // [B, D, N]: per sequence
  T* dD = nullptr;            // [B, D]
  T* ddelta_bias = nullptr;   // [B, D]
  T* stage_states = nullptr;  // [B, kScanStagesPerChunk, N, D]: the state entering each stage of a chunk
  T* history = nullptr;       // [B, kScanStage, N, D]: the state entering each step of a stage

  static std::int64_t size(std::int64_t batch, std::int64_t seq_len, std::int64_t channels, std::int64_t d_state) {
    const std::int64_t BDN = batch * channels * d_state;
    return 2 * batch * scan_channel_warps(channels) * seq_len * d_state + BDN + 2 * batch * channels +
           (kScanStagesPerChunk + kScanStage) * BDN;
  }
  SelectiveScanWorkspace(T* base, std::int64_t batch, std::int64_t seq_len, std::int64_t channels,
                         std::int64_t d_state) {
    const std::int64_t BDN = batch * channels * d_state;
    const std::int64_t partial = batch * scan_channel_warps(channels) * seq_len * d_state;
    dB = base;
    dC = dB + partial;
    dA = dC + partial;
    dD = dA + BDN;
    ddelta_bias = dD + batch * channels;
    stage_states = ddelta_bias + batch * channels;
    history = stage_states + kScanStagesPerChunk * BDN;
  }
};

inline std::int64_t selective_scan_bwd_workspace_size_cuda(std::int64_t batch, std::int64_t seq_len,
                                                           std::int64_t channels, std::int64_t d_state) {
  return SelectiveScanWorkspace<float>::size(batch, seq_len, channels, d_state);
}

// y, final_state (when not null) and, when `checkpoints` is not null, the checkpoints.
template <class T>
std::string selective_scan_fwd_cuda(const SelectiveScanArgs<T>& args, int device);

// Needs the checkpoints of the CUDA forward over the same inputs and `workspace` of
// selective_scan_bwd_workspace_size_cuda elements. du and ddelta must not be null.
template <class T>
std::string selective_scan_bwd_cuda(const SelectiveScanArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
