#pragma once
// MoE's token permutation: the slots (token, choice) of expert_ids [N, k] in expert order,
// stably (a counting sort), for sort_slots_by_expert (strata/ops/moe.h). Two passes, so
// that the caller learns the sizes (and allocates the outputs) between them:
//   count:   summary[e] = slots routed to expert e (e < E), summary[E] = dropped slots (-1),
//            summary[E + 1] = the first flat index whose id is outside [-1, E), or -1;
//   permute: slot[pos] = i, token[pos] = i / k for every kept i in flat order, at
//            pos = (slots of experts before e) + (earlier slots of e).
// The CUDA twins are kernels/cuda/expert_slots.
#include <cstdint>

namespace strata::kernels::cpu {

struct ExpertSlotsArgs {
  std::int64_t slots = 0;             // N * k
  std::int64_t k = 1;                 // choices per token
  std::int64_t experts = 0;           // E
  const std::int64_t* ids = nullptr;  // [N * k], -1 for a dropped slot
  std::int64_t* summary = nullptr;    // [E + 2]: written by count, read by permute
  std::int64_t* slot = nullptr;       // [S], S = slots - summary[E]
  std::int64_t* token = nullptr;      // [S]
};

void expert_slots_count_cpu(const ExpertSlotsArgs& args);
// Needs every id in [-1, E) (count reported none outside).
void expert_slots_permute_cpu(const ExpertSlotsArgs& args);

}  // namespace strata::kernels::cpu
