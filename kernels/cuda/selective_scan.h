#pragma once
// Mamba's selective scan (S6) on a CUDA device, forward and backward, f32 and f64: twin of
// kernels/cpu/selective_scan (same argument struct, formulas, packed-document restarts, and
// gradients overwritten, each only when its pointer is not null).
//
//   dt[b,t,d]  = softplus?(delta[b,t,d] + delta_bias[d])
//   h[b,t,d,n] = exp(dt * A[d,n]) * h[b,t-1,d,n] + dt * B[b,t,n] * u[b,t,d],  h[b,-1] = h0
//   y[b,t,d]   = (sum_n C[b,t,n] * h[b,t,d,n] + D[d] * u[b,t,d]) * silu?(z[b,t,d])
//
// Design (kernels/cuda/selective_scan_{fwd,bwd}.cu): time-parallel inside a block, in the
// manner of mamba_ssm's kernels (Gu & Dao 2023), laid out for channels-last tensors. A block
// takes 32 channels of one sequence (a warp's lanes: the channels are contiguous in memory,
// so every load of u, delta, z, dy and store of y, du, ddelta, dz is one coalesced row) and
// walks the sequence a chunk of kScanChunk steps at a time; each of its kScanWarps warps
// takes one slice of kScanSlice steps of the chunk. The states are run one state index n at
// a time: every thread runs its slice from zero (its decays and inputs kept in registers),
// the slices' end states and decay products meet in shared memory, each thread folds the
// slices before it into its true entering state and runs its slice again from there. The
// backward does the same for the adjoint recurrence, folding the slices after it. So the
// threads of a launch are B x D x kScanWarps, not B x D, and no step waits on more than
// kScanSlice steps of one thread's own work. The forward saves the state entering every
// chunk (`checkpoints`); the backward walks chunks last to first from them. [B, T, D, N] is
// never stored; sums over channels (dB, dC) and over slices and sequences (dA, dD,
// d(delta_bias)) are written as partials and added by second kernels in a fixed order (no
// atomics: the same results on every run).
//
// Host wrappers: launch on the default stream of `device` without synchronising; return
// "" or the CUDA error's text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/cpu/selective_scan.h"
#include "kernels/host_device.h"

namespace strata::kernels::cuda {

template <class T>
using SelectiveScanArgs = cpu::SelectiveScanArgs<T>;

inline constexpr int kScanWarps = 8;                                 // warps per block: slices of a chunk
inline constexpr int kScanSlice = 8;                                 // steps per slice (per thread)
inline constexpr std::int64_t kScanChunk = kScanWarps * kScanSlice;  // steps per chunk; checkpoint spacing
inline constexpr std::int64_t kScanMaxState = 256;                   // the largest d_state the kernels take
static_assert(kScanSlice <= 32 && (kScanSlice & (kScanSlice - 1)) == 0, "a slice's sums are reduced over a warp");

// How the channels meet the per-channel inputs. Mamba's selective scan: a step size and a
// row of A per channel, one B and C row per step. Mamba-2's SSD (ssd.h) is the same
// recurrence with a step size and a scalar A per head of head_dim channels and B, C rows
// per group of heads (Dao and Gu 2024): head_dim P, groups G, scalar_A.
struct ScanLayout {
  std::int64_t head_dim = 1;  // channels per step-size column: delta [B, T, D / head_dim]
  std::int64_t groups = 1;    // B, C [B, T, groups, N]; channels D / groups per group
  bool scalar_A = false;      // A [D / head_dim] instead of A [D, N]
};

STRATA_HOST_DEVICE inline std::int64_t scan_chunk_count(std::int64_t seq_len) { return (seq_len + kScanChunk - 1) / kScanChunk; }
// Blocks along the channels: each group's channels in blocks of 32 (a warp's lanes), so that
// no block spans two groups of B and C.
STRATA_HOST_DEVICE inline std::int64_t scan_blocks_per_group(std::int64_t channels, std::int64_t groups) {
  return (channels / groups + 31) / 32;
}
STRATA_HOST_DEVICE inline std::int64_t scan_channel_blocks(std::int64_t channels, std::int64_t groups) {
  return groups * scan_blocks_per_group(channels, groups);
}

// Elements of the forward's checkpoints (the backend's `saved`): [B, chunks, N, D], the
// state entering each chunk (N before D, so that a warp's channels are contiguous).
inline std::int64_t selective_scan_checkpoint_size_cuda(std::int64_t batch, std::int64_t seq_len,
                                                        std::int64_t channels, std::int64_t d_state) {
  return batch * scan_chunk_count(seq_len) * d_state * channels;
}

// The backward's workspace, carved from one buffer (`workspace` of the args): partial sums,
// reduced by second kernels in a fixed order. Under a layout with head_dim > 1 the step-size
// and A gradients are first made per channel, then summed over each head.
template <class T>
struct SelectiveScanWorkspace {
  T* dB = nullptr;               // [B, K, N, T]: the sum over channel block k's 32 channels, K = scan_channel_blocks
  T* dC = nullptr;               // [B, K, N, T]
  T* dA = nullptr;               // [B, N, D]: per sequence
  T* dD = nullptr;               // [B, kScanWarps, D]: per sequence and slice
  T* ddelta_bias = nullptr;      // [B, kScanWarps, D]
  T* ddelta_channels = nullptr;  // [B, T, D] when head_dim > 1 (else ddelta is written directly)
  T* dA_channels = nullptr;      // [D, N] when A is a scalar per head

  static std::int64_t size(std::int64_t batch, std::int64_t seq_len, std::int64_t channels, std::int64_t d_state,
                           const ScanLayout& l = {}) {
    return 2 * partial_size(batch, seq_len, channels, d_state, l.groups) + batch * d_state * channels +
           2 * batch * kScanWarps * channels + (l.head_dim > 1 ? batch * seq_len * channels : 0) +
           (l.scalar_A ? channels * d_state : 0);
  }
  SelectiveScanWorkspace(T* base, std::int64_t batch, std::int64_t seq_len, std::int64_t channels, std::int64_t d_state,
                         const ScanLayout& l = {}) {
    const std::int64_t partial = partial_size(batch, seq_len, channels, d_state, l.groups);
    dB = base;
    dC = dB + partial;
    dA = dC + partial;
    dD = dA + batch * d_state * channels;
    ddelta_bias = dD + batch * kScanWarps * channels;
    T* next = ddelta_bias + batch * kScanWarps * channels;
    if (l.head_dim > 1) {
      ddelta_channels = next;
      next += batch * seq_len * channels;
    }
    if (l.scalar_A) dA_channels = next;
  }

 private:
  static std::int64_t partial_size(std::int64_t batch, std::int64_t seq_len, std::int64_t channels,
                                   std::int64_t d_state, std::int64_t groups) {
    return batch * scan_channel_blocks(channels, groups) * d_state * seq_len;
  }
};

// Elements of the backward's workspace (SelectiveScanWorkspace) under a layout.
inline std::int64_t selective_scan_bwd_workspace_size_cuda(std::int64_t batch, std::int64_t seq_len,
                                                           std::int64_t channels, std::int64_t d_state,
                                                           const ScanLayout& layout = {}) {
  return SelectiveScanWorkspace<float>::size(batch, seq_len, channels, d_state, layout);
}

// y, final_state (when not null) and, when `checkpoints` is not null, the checkpoints.
template <class T>
std::string selective_scan_fwd_cuda(const SelectiveScanArgs<T>& args, int device);

// Needs the checkpoints of the CUDA forward over the same inputs and `workspace` of
// selective_scan_bwd_workspace_size_cuda elements. du and ddelta must not be null.
template <class T>
std::string selective_scan_bwd_cuda(const SelectiveScanArgs<T>& args, int device);

// The same kernels under another layout (ssd.cu runs Mamba-2's SSD through them): ddelta
// [B, T, D / head_dim], dA [D / head_dim] for a scalar A, dB and dC [B, T, G, N]; the
// workspace is selective_scan_bwd_workspace_size_cuda(..., layout) elements.
template <class T>
std::string diagonal_scan_fwd_cuda(const SelectiveScanArgs<T>& args, const ScanLayout& layout, int device);
template <class T>
std::string diagonal_scan_bwd_cuda(const SelectiveScanArgs<T>& args, const ScanLayout& layout, int device);

}  // namespace strata::kernels::cuda
