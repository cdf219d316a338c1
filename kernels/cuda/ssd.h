#pragma once
// Mamba-2's SSD scan on a CUDA device, forward and backward: the twins of kernels/cpu/ssd
// (same argument struct and results, up to rounding: the CPU runs the chunked quadratic
// form, these the recurrence step by step). All pointers are device pointers; the functions
// return an error string (empty on success) and do not synchronise.
#include <string>

#include "kernels/cpu/ssd.h"

namespace strata::kernels::cuda {

template <class T>
using SsdArgs = cpu::SsdArgs<T>;

// The largest d_state the kernels keep in registers, and the largest head_dim (a thread per
// state row, one block per (batch, head)).
inline constexpr std::int64_t kSsdMaxState = 128;
inline constexpr std::int64_t kSsdMaxHeadDim = 1024;
// Steps between the states the forward saves for the backward.
inline constexpr std::int64_t kSsdCheckpointSteps = 64;

// Elements of chunk_states: the state entering steps 0, 64, 128, ... of every (b, h),
// [B, H, ceil(T / 64), P, N].
std::int64_t ssd_checkpoints_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t head_dim,
                                  std::int64_t d_state);
// Elements of the backward's workspace: dB and dC per head [B, H, T, N] each, dA per
// (batch, head) [B, H].
std::int64_t ssd_bwd_workspace_elements(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                        std::int64_t d_state);

// y and final_state, and chunk_states when it is set (scratch is not used). The recurrence
//   S[t] = exp(dt A) S[t-1] + dt x B^T,  y = S[t] C
// step by step: a block per (batch, head), a thread per row p of the state [P, N], which it
// keeps in registers; each step's B and C rows go through shared memory. Packed documents
// restart from a zero state. T: float, double; d_state <= kSsdMaxState, head_dim <= kSsdMaxHeadDim.
template <class T>
std::string ssd_fwd_cuda(const SsdArgs<T>& args, int device);

// dx, ddt and the non-null ones of dA, dB, dC, dinitial_state, from the forward's
// chunk_states and `workspace` (ssd_bwd_workspace_elements). The adjoint recurrence, last
// step first, per (batch, head) block: each thread carries its row of dS; the states come
// back by recomputing forward from the saved ones (every 64 steps, then every 8 inside
// them), so nothing of size [B, T, H, P, N] is stored. Sums over the rows p go through
// shared memory in a fixed order, then over the heads of a group (dB, dC) and the batch
// (dA) in a second kernel: deterministic, no atomics.
template <class T>
std::string ssd_bwd_cuda(const SsdArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
