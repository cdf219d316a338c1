#pragma once
// Mixture-of-Experts building blocks: token slots sorted by expert (a counting sort) and
// one matrix product per expert over its contiguous slice of rows.
//
//   slots = sort_slots_by_expert(expert_ids, E)        // which (token, k) pairs go where
//   xs    = index_select(x, 0, slots.token)            // [S, D], grouped by expert
//   hs    = grouped_matmul(xs, w_up, slots.counts)     // [S, F], expert e's rows x w_up[e]^T
//   ...
//   y     = index_add(zeros, 0, slots.token, gate * out)   // weighted combine
#include <cstdint>

#include "strata/tensor.h"

namespace strata {

struct ExpertSlots {
  Tensor slot;    // [S] i64: flat slot index t * k + j, sorted by expert (stable: token order within one)
  Tensor token;   // [S] i64: the token t of each sorted slot
  Tensor counts;  // [E] i64 on the CPU: slots per expert; expert e owns rows offsets[e] .. offsets[e] + counts[e]
};

// expert_ids: [N, k] i64 in [-1, E), -1 = dropped slot (skipped) -> the slots grouped by
// expert. S = the number of slots that are not dropped.
ExpertSlots sort_slots_by_expert(const Tensor& expert_ids, std::int64_t n_experts);

// x: [S, K] with rows grouped by expert, weight: [E, N, K], group_sizes: [E] i64 summing
// to S -> [S, N]: rows of expert e times weight[e]^T. Differentiable in x and weight
// (experts without rows get a zero weight gradient).
Tensor grouped_matmul(const Tensor& x, const Tensor& weight, const Tensor& group_sizes);

}  // namespace strata
