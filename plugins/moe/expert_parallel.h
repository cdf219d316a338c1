#pragma once
// Expert parallelism (docs/distributed.md): the routed experts of an moe ffn sharded over P
// ranks of the data-parallel group. Ranks r = g P + p form expert group g; rank p of a group
// holds experts [p E/P, (p + 1) E/P) and the ranks with the same p hold the same experts
// (their gradients are summed over those replicas). Each rank routes its own tokens; the
// rows travel to their experts' ranks (MPI_Alltoallv, counts exchanged first), go through
// the grouped expert products there, and come back; the backward sends the gradients the
// same way in reverse.
#include <strata/communicator.h>
#include <strata/components.h>
#include <strata/module.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "experts.h"

namespace strata::moe_plugin {

struct ExpertPlacement {
  std::shared_ptr<Communicator> group;     // the P ranks that hold the experts between them
  std::shared_ptr<Communicator> replicas;  // the ranks that hold the same experts as this one
  std::int64_t first_expert = 0;           // this rank's experts: [first_expert, first_expert + local_experts)
  std::int64_t local_experts = 0;
  std::shared_ptr<const ParameterShard> shard;  // of the expert parameters (full rows: E)
};

// The placement of E experts over `P` ranks, or null when P is 1 or the model is built
// outside a data-parallel job (every expert local: one process, inspect, export). Splits
// ctx.data_parallel: every rank must build the model. ConfigError (at expert_parallel) when
// P does not divide the job's ranks (n_experts: checked with the rest of the config).
std::shared_ptr<ExpertPlacement> place_experts(const Config& config, std::int64_t P, std::int64_t n_experts,
                                               const BuildContext& ctx);

// What one forward moved, for telemetry.
struct ExpertTraffic {
  std::vector<std::int64_t> slots_to_rank;  // [P]: this rank's kept slots sent to each rank of the group
  std::int64_t bytes = 0;                   // bytes this rank sent and received (rows both ways, and counts)
  double seconds = 0;                       // wall time in the forward's exchanges, waiting for the others included
};

// xs: [S, D], this rank's token rows sorted by expert, counts: [E] i64 slots per expert ->
// [S, D]: each row through its expert on whichever rank holds it, in the same order.
// `local` holds this rank's experts. Differentiable in xs and the local experts' weights.
Tensor run_placed_experts(const Tensor& xs, const Tensor& counts, const ExpertFfns& local,
                          const ExpertPlacement& placement, ExpertTraffic& traffic);

// rows: [S, D], the first send_counts[0] rows for rank 0 of `group`, the next send_counts[1]
// for rank 1, ... -> [R, D]: the rows every rank sent here, rank 0's first, receive_counts[s]
// of them from rank s (known from the expert counts exchanged before). Differentiable: the
// backward sends every gradient row back to where its row came from.
Tensor exchange_rows(const Tensor& rows, const std::vector<std::int64_t>& send_counts,
                     const std::vector<std::int64_t>& receive_counts, Communicator& group);

}  // namespace strata::moe_plugin
