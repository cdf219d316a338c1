#include "telemetry.h"

#include <strata/communicator.h>
#include <strata/packing.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace strata::moe_plugin {

std::vector<MetricSeries> routing_series(bool detailed, bool expert_parallel) {
  using K = MetricKind;
  using R = MetricReduce;
  std::vector<MetricSeries> s = {
      {"load", K::vector, {"expert"}, {}, "fraction", R::mean,
       "share of the kept slots that each expert processed (sums to 1 over experts)", false},
      {"load_cv", K::scalar, {}, {}, "", R::mean,
       "coefficient of variation (std / mean) of the slots per expert; 0 is perfect balance", true},
      {"global_load_cv", K::scalar, {}, {}, "", R::mean,
       "load_cv of the slots per expert summed over every data-parallel rank's micro-batch (the global batch's "
       "balance; equal to load_cv in one process)", false},
      {"max_violation", K::scalar, {}, {}, "", R::mean,
       "max load / mean load - 1 (Wang et al. 2024); 0 is perfect balance", true},
      {"dead_experts", K::scalar, {}, {}, "experts", R::mean,
       "experts that processed no slot in a forward (a step's value: the mean over its micro-batches), averaged "
       "over the window's steps (0.5: dead in half of them)", true},
      {"dropped_fraction", K::scalar, {}, {}, "fraction", R::mean,
       "share of the N k routed slots dropped at expert capacity", true},
      {"router_entropy", K::scalar, {}, {}, "nats", R::mean,
       "mean over tokens of the entropy -sum_e p log p of the router's probabilities", true},
  };
  if (expert_parallel) {
    s.push_back({"expert_rank_load", K::vector, {"rank"}, {}, "fraction", R::mean,
                 "share of the kept slots processed by each rank of the expert-parallel group (its experts)", false});
    s.push_back({"expert_exchange_mib", K::scalar, {}, {}, "MiB", R::mean,
                 "MiB each rank sent and received per forward to move token rows to their experts and back (the "
                 "backward moves as much again)", false});
    s.push_back({"expert_exchange_ms", K::scalar, {}, {}, "ms", R::mean,
                 "milliseconds per forward spent exchanging rows and counts with the expert group, waiting for a "
                 "slower rank included (the backward's exchanges are not timed)", false});
  }
  if (detailed) {
    s.push_back({"coactivation", K::matrix, {"expert", "expert"}, {}, "tokens", R::mean,
                 "tokens per step sent to both experts i and j (i < j), and to i alone (i = j)", false});
    s.push_back({"token_expert", K::matrix, {"token", "expert"}, {}, "slots", R::mean,
                 "kept slots per step of tokens with this id that each expert processed", false});
    s.push_back({"position_expert", K::matrix, {"position", "expert"}, {}, "slots", R::mean,
                 "kept slots per step of tokens at this sequence position that each expert processed", false});
  }
  return s;
}

LoadStats load_stats(std::span<const double> counts) {
  const double E = double(counts.size());
  double sum = 0, max = 0;
  LoadStats s;
  for (const double v : counts) {
    sum += v;
    max = std::max(max, v);
    s.dead += v == 0;
  }
  const double mean = sum / E;
  if (mean == 0) return s;
  double var = 0;
  for (const double v : counts) var += (v - mean) * (v - mean);
  s.cv = std::sqrt(var / E) / mean;
  s.max_violation = max / mean - 1;
  return s;
}

void report_routing(const Routing& routing, const Tensor& kept_counts, std::int64_t dropped, StepContext& ctx) {
  const std::vector<std::int64_t> kept = kept_counts.to_vector<std::int64_t>();
  const std::vector<double> c(kept.begin(), kept.end());
  double total = 0;
  for (const double v : c) total += v;
  for (std::size_t e = 0; e < c.size(); ++e) ctx.add_metric_at("load", std::int64_t(e), total > 0 ? c[e] / total : 0.0);
  const LoadStats s = load_stats(c);
  ctx.add_metric("load_cv", s.cv);
  if (Communicator* ranks = ctx.data_parallel()) {
    std::vector<double> global = c;  // whole numbers: the sum over the ranks is exact
    ranks->all_reduce_sum(std::span<double>(global));
    ctx.add_metric("global_load_cv", load_stats(global).cv);
  } else {
    ctx.add_metric("global_load_cv", s.cv);
  }
  ctx.add_metric("max_violation", s.max_violation);
  ctx.add_metric("dead_experts", double(s.dead));
  const double slots = double(routing.expert_ids.numel());
  ctx.add_metric("dropped_fraction", slots > 0 ? double(dropped) / slots : 0.0);
  const std::vector<double> p = routing.probs.to_vector<double>();
  double entropy = 0;
  for (double v : p)
    if (v > 0) entropy -= v * std::log(v);
  const std::int64_t tokens = routing.probs.size(0);
  ctx.add_metric("router_entropy", tokens > 0 ? entropy / double(tokens) : 0.0);
}

void report_routing_detail(const Tensor& kept_ids, std::int64_t n_experts, StepContext& ctx) {
  const std::int64_t N = kept_ids.size(0), k = kept_ids.size(1), E = n_experts;
  const std::vector<std::int64_t> ids = kept_ids.to_vector<std::int64_t>();
  std::vector<double> co(static_cast<std::size_t>(E * E), 0.0);
  for (std::int64_t t = 0; t < N; ++t) {
    const std::int64_t* mine = ids.data() + t * k;
    std::int64_t kept = 0;
    for (std::int64_t a = 0; a < k; ++a) kept += mine[a] >= 0;
    for (std::int64_t a = 0; a < k; ++a) {
      if (mine[a] < 0) continue;
      if (kept == 1) co[std::size_t(mine[a] * E + mine[a])] += 1;
      for (std::int64_t b = a + 1; b < k; ++b)
        if (mine[b] >= 0) co[std::size_t(std::min(mine[a], mine[b]) * E + std::max(mine[a], mine[b]))] += 1;
    }
  }
  for (std::int64_t i = 0; i < E; ++i)
    for (std::int64_t j = i; j < E; ++j)
      ctx.add_metric_at("coactivation", i, j, co[std::size_t(i * E + j)]);
  if (!ctx.token_ids().defined() || ctx.token_ids().numel() != N) return;
  const std::vector<std::int64_t> tokens = ctx.token_ids().to_vector<std::int64_t>();
  std::map<std::pair<std::int64_t, std::int64_t>, double> histogram;  // (token id, expert) -> slots
  for (std::int64_t t = 0; t < N; ++t)
    for (std::int64_t a = 0; a < k; ++a)
      if (ids[std::size_t(t * k + a)] >= 0) histogram[{tokens[std::size_t(t)], ids[std::size_t(t * k + a)]}] += 1;
  for (const auto& [key, count] : histogram)
    ctx.add_metric_at("token_expert", key.first, key.second, count);
  // Positions within the sequence (the packed document): the tokens are ctx.token_ids() [B, T] in order.
  const std::int64_t T = ctx.token_ids().size(-1);
  const std::vector<std::int64_t> position_of =
      ctx.sequence_starts().defined() ? positions_in_sequence(ctx.sequence_starts()).to_vector<std::int64_t>()
                                      : std::vector<std::int64_t>{};
  std::vector<double> positions(static_cast<std::size_t>(T * E), 0.0);  // (position, expert) -> slots
  for (std::int64_t t = 0; t < N; ++t) {
    const std::int64_t pos = position_of.empty() ? t % T : position_of[std::size_t(t)];
    for (std::int64_t a = 0; a < k; ++a)
      if (const std::int64_t e = ids[std::size_t(t * k + a)]; e >= 0) positions[std::size_t(pos * E + e)] += 1;
  }
  for (std::int64_t pos = 0; pos < T; ++pos)
    for (std::int64_t e = 0; e < E; ++e)
      if (const double count = positions[std::size_t(pos * E + e)]; count > 0)
        ctx.add_metric_at("position_expert", pos, e, count);
}

}  // namespace strata::moe_plugin

namespace strata::moe_plugin {

void report_expert_traffic(const ExpertTraffic& traffic, StepContext& ctx) {
  double total = 0;
  for (const std::int64_t n : traffic.slots_to_rank) total += double(n);
  for (std::size_t q = 0; q < traffic.slots_to_rank.size(); ++q)
    ctx.add_metric_at("expert_rank_load", std::int64_t(q), total > 0 ? double(traffic.slots_to_rank[q]) / total : 0.0);
  ctx.add_metric("expert_exchange_mib", double(traffic.bytes) / double(1 << 20));
  ctx.add_metric("expert_exchange_ms", traffic.seconds * 1e3);
}

}  // namespace strata::moe_plugin
