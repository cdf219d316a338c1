#pragma once
// Mamba-2's SSD scan on a CUDA device, forward and backward: the twins of kernels/cpu/ssd
// (same argument struct and results, up to rounding: the CPU runs the chunked quadratic
// form, these the recurrence). All pointers are device pointers; the functions return an
// error string (empty on success) and do not synchronise.
//
// The SSD recurrence, per head h of P channels (its group g of B and C),
//   S[t] = exp(dt[t,h] A[h]) S[t-1] + dt[t,h] x[t,h,:] (outer) B[t,g,:],   y = S[t] C[t,g,:],
// is Mamba's selective scan with the step size and a scalar A shared by a head's channels
// and B, C shared by a group's heads (Dao and Gu 2024, section 3): kernels/cuda/ssd.cu runs
// it through the selective scan's kernels (selective_scan.h) under that layout.
#include <cstdint>
#include <string>

#include "kernels/cpu/ssd.h"
#include "kernels/cuda/selective_scan.h"

namespace strata::kernels::cuda {

template <class T>
using SsdArgs = cpu::SsdArgs<T>;

// The largest d_state the kernels take.
inline constexpr std::int64_t kSsdMaxState = kScanMaxState;

// Elements of chunk_states: the state entering every chunk of kScanChunk steps, in the
// selective scan's layout [B, chunks, N, H * P].
std::int64_t ssd_checkpoints_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t head_dim,
                                  std::int64_t d_state);
// Elements of the backward's workspace: the selective scan's under the SSD layout.
std::int64_t ssd_bwd_workspace_elements(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                        std::int64_t head_dim, std::int64_t groups, std::int64_t d_state);

// y and final_state, and chunk_states when it is set (scratch is not used). Packed documents
// restart from a zero state. T: float, double; d_state <= kSsdMaxState.
template <class T>
std::string ssd_fwd_cuda(const SsdArgs<T>& args, int device);

// dx, ddt and the non-null ones of dA, dB, dC, dinitial_state, from the forward's
// chunk_states and `workspace` (ssd_bwd_workspace_elements). Deterministic: no atomics.
template <class T>
std::string ssd_bwd_cuda(const SsdArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
