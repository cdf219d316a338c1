#pragma once
// Mamba-2's SSD scan on a CUDA device, forward: the twin of kernels/cpu/ssd's forward (same
// argument struct and results, up to rounding). There is no CUDA backward yet: training a
// Mamba-2 model on a GPU raises NotImplementedError at ssd_backward; inference (eval,
// generate) runs. All pointers are device pointers; the function returns an error string
// (empty on success) and does not synchronise.
#include <string>

#include "kernels/cpu/ssd.h"

namespace strata::kernels::cuda {

template <class T>
using SsdArgs = cpu::SsdArgs<T>;

// The largest d_state the kernel keeps in registers.
inline constexpr std::int64_t kSsdMaxState = 128;

// y and final_state (chunk_states, scratch and workspace are not used). The recurrence
//   S[t] = exp(dt A) S[t-1] + dt x B^T,  y = S[t] C
// step by step: a block per (batch, head), a thread per row p of the state [P, N], which it
// keeps in registers; each step's B and C rows go through shared memory. Packed documents
// restart from a zero state. T: float, double; d_state <= kSsdMaxState, head_dim <= 1024.
template <class T>
std::string ssd_fwd_cuda(const SsdArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
