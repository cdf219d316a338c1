#pragma once
// MoE's token permutation on a CUDA device: the twins of kernels/cpu/expert_slots (same
// argument struct and results, bit for bit: a stable order, integer counts). All pointers
// are device pointers; the functions return an error string (empty on success) and do not
// synchronise.
#include <string>

#include "kernels/cpu/expert_slots.h"

namespace strata::kernels::cuda {

using ExpertSlotsArgs = cpu::ExpertSlotsArgs;

// summary [E + 2]: a block per expert (and one for the dropped and invalid slots) counts
// over all slots; no atomics.
std::string expert_slots_count_cuda(const ExpertSlotsArgs& args, int device);
// slot, token: a block per expert walks the slots in order, placing its own by a
// block-wide prefix count (a stable counting sort without atomics).
std::string expert_slots_permute_cuda(const ExpertSlotsArgs& args, int device);

}  // namespace strata::kernels::cuda
