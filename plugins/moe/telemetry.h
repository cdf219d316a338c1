#pragma once
// Expert-usage metrics of one MoE layer for one forward, added to the step's metrics
// under the layer's scope. They follow what MoE trainers log: tokens per expert (NVIDIA
// Megatron-LM), unused experts, overflow and gating entropy (fairseq
// fairseq/modules/moe/top2gate.py), and max violation (Wang et al. 2024, auxiliary-loss-free
// load balancing, arXiv:2408.15664):
//   load.<e>          share of the kept slots that expert e processed
//   load_cv           coefficient of variation (std / mean) of the per-expert counts
//   max_violation     max load / mean load - 1
//   dead_experts      experts that processed no slot
//   dropped_fraction  share of the N k slots dropped at capacity
//   router_entropy    mean over tokens of -sum_e p log p
// and, on demand (the moe's detailed_telemetry), for the expert-activation-patterns lab:
//   coactivation.<i>.<j>    tokens sent to both experts i and j (i < j), and to i alone (i = j)
//   token_expert.<id>.<e>   kept slots of tokens with this id that expert e processed
//   position_expert.<t>.<e> kept slots of tokens at sequence position t that expert e processed
// Per-index series are written to metrics.jsonl; the progress line shows the summaries.
#include <strata/components.h>

#include "expert_parallel.h"

#include <cstdint>
#include <span>

namespace strata::moe_plugin {

// The series report_routing (and, with detailed telemetry, report_routing_detail) logs.
// With `expert_parallel`, also the exchange's series (report_expert_traffic).
std::vector<MetricSeries> routing_series(bool detailed, bool expert_parallel = false);

struct LoadStats {
  double cv = 0, max_violation = 0;
  std::int64_t dead = 0;
};

// counts: slots per expert, [E]
LoadStats load_stats(std::span<const double> counts);

void report_routing(const Routing& routing, const Tensor& kept_counts, std::int64_t dropped, StepContext& ctx);

// kept_ids: [N, k] i64 after capacity (-1 dropped); token ids from ctx when set.
void report_routing_detail(const Tensor& kept_ids, std::int64_t n_experts, StepContext& ctx);

// Expert parallelism: the share of this rank's kept slots that each rank of its expert group
// processed (averaged over the ranks by the trainer: each rank's share of the group's
// expert work when the ranks route equally many slots), and the MiB it sent and received.
void report_expert_traffic(const ExpertTraffic& traffic, StepContext& ctx);

}  // namespace strata::moe_plugin
