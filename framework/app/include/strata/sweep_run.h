#pragma once
// A sweep in its folder: every variant of the grid trained in SWEEP/<variant>/ (strata/run.h),
// then SWEEP/summary.csv and summary.md (one row per variant: its settings, status, final
// metrics, timings, and the components' headline telemetry) and the sweep report. A
// variant that diverges is recorded and the next one runs; SIGINT or SIGTERM stops the sweep after
// checkpointing the running variant.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "strata/run.h"
#include "strata/sweep.h"

namespace strata {

struct SweepRow {
  const SweepVariant* variant = nullptr;
  std::string status = "ok";  // ok, diverged, interrupted, not run
  std::string error;          // the divergence message when diverged
  RunOutcome outcome;
  // The headline scalar series of the components (load CV, dead experts, ... as declared),
  // at the last logged step, each the mean over the layers that log it; in declaration order.
  std::vector<std::pair<std::string, double>> headline;
};

struct SweepHooks {
  std::function<void(std::size_t index, const SweepVariant& variant)> on_variant_start;
  std::function<void(std::size_t index, const SweepRow& row)> on_variant_end;
  RunHooks run;  // for each variant's run
};

struct SweepOutcome {
  std::vector<SweepRow> rows;  // one per variant, in grid order
  bool failed = false;         // a variant diverged
  bool interrupted = false;    // stopped by SIGINT or SIGTERM; the rest are "not run"
};

// Trains `experiments[i]` (the validated variants, load_sweep_variant) in folder/<name>
// for each variant, then writes the summaries and the sweep report. `folder` exists.
//
// With settings.group, a job of N ranks (every rank calls this alike), the ranks form groups
// of train.ranks_per_run ranks (0: one rank each) and variant i trains on group i mod the
// number of groups, data parallel within its group; the rows are then shared with every rank
// and rank 0 writes the summaries and the report. Hooks run on the ranks that ran the variant.
SweepOutcome run_sweep_in_folder(const std::vector<SweepVariant>& variants, const std::vector<Experiment>& experiments,
                                 const std::vector<SweepAxis>& axes, const ComponentRegistry& registry,
                                 const std::filesystem::path& folder, const SweepHooks& hooks = {},
                                 const RunSettings& settings = {});

}  // namespace strata
