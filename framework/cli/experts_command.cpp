// strata experts: which token ids and sequence positions each MoE layer sends to which
// experts, from a run's detailed routing telemetry (the moe's detailed_telemetry = true):
// per layer, one row per token id (or position) with the share of its slots per expert,
// summed over the logged steps from --from-step on.
#include <cstdio>
#include <iostream>
#include <map>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

#include "cli/commands.h"
#include "strata/run_folder.h"
#include "cli/token_input.h"

namespace strata::cli {

namespace {

// Expert indices past this are not ones a run writes (the moe plugin allows 4096 experts).
constexpr std::int64_t kMaxExperts = 4096;

struct ScopeOrder {
  bool operator()(const std::string& a, const std::string& b) const { return scope_less(a, b); }
};
// component scope (in layer order) -> row -> expert -> slots
using Histogram = std::map<std::string, std::map<std::int64_t, std::map<std::int64_t, double>>, ScopeOrder>;

void print_table(const char* what, const Histogram& h, std::int64_t n_experts) {
  for (const auto& [scope, rows] : h) {
    std::printf("%s: %s x expert (share of its slots; %lld experts)\n", scope_label(scope).c_str(), what,
                static_cast<long long>(n_experts));
    std::printf("%8s", what);
    for (std::int64_t e = 0; e < n_experts; ++e) std::printf("  e%-3lld", static_cast<long long>(e));
    std::printf("   slots\n");
    for (const auto& [row, experts] : rows) {
      double total = 0;
      for (const auto& [e, count] : experts) total += count;
      std::printf("%8lld", static_cast<long long>(row));
      for (std::int64_t e = 0; e < n_experts; ++e) {
        const auto it = experts.find(e);
        const double share = it == experts.end() ? 0.0 : it->second / total;
        if (share == 0)
          std::printf("  %-4s", ".");
        else
          std::printf("  %.2f", share);
      }
      std::printf("  %6.0f\n", total);
    }
    std::printf("\n");
  }
}

}  // namespace

int experts_command(const ExpertsOptions& options) {
  const run_folder::MetricsLog log = run_folder::read_metrics(options.run);
  const std::vector<MetricsRecord>& records = log.records;
  if (records.empty())
    throw UsageError(options.run + ": no metrics.jsonl records", "give the folder of a finished or running `strata run`");
  // The declared matrix series with axes (token, expert) and (position, expert).
  const auto histogram_of = [](const MetricSeries& s) -> int {
    if (s.kind != MetricKind::matrix || s.axes.size() != 2 || s.axes[1] != "expert") return -1;
    return s.axes[0] == "token" ? 0 : s.axes[0] == "position" ? 1 : -1;
  };
  // An index as written in a key; nullopt for one no run writes (over 18 digits).
  const auto index_of = [](std::string_view text) -> std::optional<std::int64_t> {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.size() > 18) return std::nullopt;
    return v;
  };
  Histogram tokens, positions;
  std::int64_t n_experts = 0;
  std::int64_t previous_step = 0;
  SeriesIndex index(log.series);
  for (const auto& r : records) {
    // A mean per step over the logging window, weighed by the window's length, becomes a
    // slot count; a sum is one already.
    const std::int64_t step = r.step;
    const double window = double(std::max<std::int64_t>(1, step - previous_step));
    previous_step = step;
    if (step < options.from_step) continue;
    for (const auto& [key, value] : r.values) {
      if (!std::isfinite(value)) continue;
      const MetricSeries* s = index.find_record_key(key);
      const int which = s ? histogram_of(*s) : -1;
      if (which < 0) continue;
      // "metric.<key>.<row>.<expert>"
      const std::string_view indices = std::string_view(key).substr(7 + s->key().size() + 1);
      const std::size_t dot = indices.find('.');
      const auto row = index_of(indices.substr(0, dot)), expert = index_of(indices.substr(dot + 1));
      if (!row || !expert || *expert >= kMaxExperts) continue;  // not a key a run writes
      n_experts = std::max(n_experts, *expert + 1);
      const double weight = s->reduce == MetricReduce::mean ? window : 1.0;
      (which == 0 ? tokens : positions)[s->scope][*row][*expert] += value * weight;
    }
  }
  if (tokens.empty() && positions.empty())
    throw UsageError(options.run + ": the run has no routing detail",
                     "train with detailed_telemetry = true in the moe ffn (experiments/labs/expert_patterns.toml)");
  if (options.what != "positions") print_table("token", tokens, n_experts);
  if (options.what != "tokens") print_table("position", positions, n_experts);
  return kOk;
}

}  // namespace strata::cli
