#include "telemetry.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace strata::moe_plugin {

LoadStats load_stats(const Tensor& counts) {
  const std::vector<std::int64_t> c = counts.to_vector<std::int64_t>();
  const double E = double(c.size());
  double sum = 0, max = 0;
  LoadStats s;
  for (std::int64_t v : c) {
    sum += double(v);
    max = std::max(max, double(v));
    s.dead += v == 0;
  }
  const double mean = sum / E;
  if (mean == 0) return s;
  double var = 0;
  for (std::int64_t v : c) var += (double(v) - mean) * (double(v) - mean);
  s.cv = std::sqrt(var / E) / mean;
  s.max_violation = max / mean - 1;
  return s;
}

void report_routing(const Routing& routing, const Tensor& kept_counts, std::int64_t dropped, StepContext& ctx) {
  const std::vector<std::int64_t> c = kept_counts.to_vector<std::int64_t>();
  double total = 0;
  for (std::int64_t v : c) total += double(v);
  for (std::size_t e = 0; e < c.size(); ++e) ctx.add_metric("load." + std::to_string(e), total > 0 ? double(c[e]) / total : 0.0);
  const LoadStats s = load_stats(kept_counts);
  ctx.add_metric("load_cv", s.cv);
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

}  // namespace strata::moe_plugin
