#pragma once
// The gated delta rule (Gated DeltaNet) on a CUDA device, forward and backward: the twins of
// kernels/cpu/gated_delta_rule (same argument struct and results, up to rounding: the CPU
// runs the chunked WY form, these the recurrence step by step). All pointers are device
// pointers; the functions return an error string (empty on success) and do not synchronise.
#include <cstdint>
#include <string>

#include "kernels/cpu/gated_delta_rule.h"

namespace strata::kernels::cuda {

template <class T>
using GatedDeltaRuleArgs = cpu::GatedDeltaRuleArgs<T>;

// The largest key_dim the kernels keep in registers, and the largest value_dim (a thread
// per state column, one block per (batch, head)): with up to 255 registers per thread
// (key_dim 128, or f64), a block of more than 256 threads would not launch.
inline constexpr std::int64_t kDeltaRuleMaxKeyDim = 128;
inline constexpr std::int64_t kDeltaRuleMaxValueDim = 256;
inline constexpr int kDeltaRuleMaxThreads = 256;
// Steps between the states the forward saves for the backward.
inline constexpr std::int64_t kDeltaRuleCheckpointSteps = 64;

// Elements of chunk_states: the state entering steps 0, 64, 128, ... of every (b, h),
// [B, H, ceil(T / 64), K, V].
std::int64_t gated_delta_rule_checkpoints_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                               std::int64_t key_dim, std::int64_t value_dim);
// Elements of the backward's workspace: dq and dk per value head [B, H, T, K] each, and the
// recomputed states [B, H, 16, K, V] (the states entering every 8th step of a 64-step chunk
// and each step of 8).
std::int64_t gated_delta_rule_bwd_workspace_elements(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                                     std::int64_t key_dim, std::int64_t value_dim);

// o and final_state, and chunk_states when set (scratch is not used). Per step, for block
// (b, h) and thread v, which keeps column v of the state [K, V] in registers:
//   S = exp(g) S;  d = beta (v[v] - S[:, v] . k);  S[:, v] += k d;  o[v] = S[:, v] . (scale q)
// q and k of the step go through shared memory. Packed documents restart from zero.
template <class T>
std::string gated_delta_rule_fwd_cuda(const GatedDeltaRuleArgs<T>& args, int device);

// dq, dk, dv, dg, dbeta and (when non-null) dinitial_state, from chunk_states and
// `workspace`: the adjoint recurrence from the last step, the states recomputed from the
// saved ones (every 64 steps, then every 8 inside them); sums over the columns v in a fixed
// order through shared memory, and over the value heads of a key head (dq, dk) in a second
// kernel. Deterministic, no atomics.
template <class T>
std::string gated_delta_rule_bwd_cuda(const GatedDeltaRuleArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
