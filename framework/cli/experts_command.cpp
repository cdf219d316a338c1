// strata experts: which token ids and sequence positions each MoE layer sends to which
// experts, from a run's detailed routing telemetry (the moe's detailed_telemetry = true):
// per layer, one row per token id (or position) with the share of its slots per expert,
// summed over the logged steps from --from-step on.
#include <cstdio>
#include <iostream>
#include <map>
#include <regex>

#include "cli/commands.h"
#include "strata/run_folder.h"
#include "cli/token_input.h"

namespace strata::cli {

namespace {

// (layer, row, expert) -> slots
using Histogram = std::map<std::int64_t, std::map<std::int64_t, std::map<std::int64_t, double>>>;

void print_table(const char* what, const Histogram& h, std::int64_t n_experts) {
  for (const auto& [layer, rows] : h) {
    std::printf("layer %lld: %s x expert (share of its slots; %lld experts)\n", static_cast<long long>(layer), what,
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
  const std::vector<MetricsRecord> records = run_folder::read_metrics(options.run).records;
  if (records.empty())
    throw UsageError(options.run + ": no metrics.jsonl records", "give the folder of a finished or running `strata run`");
  const std::regex pattern(R"(metric\.layers\.(\d+)\.ffn\.(token|position)_expert\.(\d+)\.(\d+))");
  Histogram tokens, positions;
  std::int64_t n_experts = 0;
  std::int64_t previous_step = 0;
  for (const auto& r : records) {
    // A logged value is the mean per step over its log window: weigh it by the window.
    const std::int64_t step = r.step;
    const double window = double(std::max<std::int64_t>(1, step - previous_step));
    previous_step = step;
    if (step < options.from_step) continue;
    for (const auto& [key, value] : r.values) {
      std::smatch m;
      if (!std::isfinite(value) || !std::regex_match(key, m, pattern)) continue;
      Histogram& h = m[2] == "token" ? tokens : positions;
      const std::int64_t expert = std::stoll(m[4]);
      n_experts = std::max(n_experts, expert + 1);
      h[std::stoll(m[1])][std::stoll(m[3])][expert] += value * window;
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
