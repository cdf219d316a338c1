// strata run with a sweep: the command line of strata/sweep_run.h (validation of every
// variant first, progress lines, the summary table on stdout, the exit code).
#include <csignal>
#include <fstream>
#include <iostream>

#include "strata/memory_guard.h"
#include "strata/run_folder.h"
#include "cli/run_single.h"
#include "strata/sweep_run.h"

namespace strata::cli {

namespace fs = std::filesystem;

int run_sweep(const RunOptions& options, const std::vector<SweepAxis>& axes, ComponentRegistry& registry) {
  const std::vector<SweepVariant> variants = expand_sweep(axes);
  validate_sweep_base(options.file, options.common.experiment_options(), registry);
  // Every variant is validated before any trains: a typo in the last one costs nothing.
  std::vector<Experiment> experiments;
  for (const SweepVariant& v : variants)
    experiments.push_back(load_sweep_variant(options.file, options.common.experiment_options(), v, axes, registry));
  // Likewise a variant too large for this machine, before any trains.
  if (options.checks.check_memory)
    for (const Experiment& e : experiments) require_training_fits(e, registry);
  const fs::path folder = options.out.empty() ? default_run_folder(experiments.front()) : fs::path(options.out);
  create_run_folder(folder, options.out.empty() ? "[run] out_dir" : "--out", options.overwrite);
  std::cerr << "strata sweep " << options.file << ": " << variants.size() << " variants -> " << folder.string()
            << "\n";

  SweepHooks hooks;
  hooks.on_variant_start = [&](std::size_t i, const SweepVariant& v) {
    std::cerr << "[" << i + 1 << "/" << variants.size() << "] " << v.name << "\n";
  };
  hooks.on_variant_end = [](std::size_t, const SweepRow& row) {
    if (row.status == "diverged")
      std::cerr << "  training failed: " << row.error << "\n";
    else
      std::cerr << "  " << final_line(row.outcome) << "\n";
  };
  RunSettings settings;
  settings.check_memory = options.checks.check_memory;
  const SweepOutcome outcome = run_sweep_in_folder(variants, experiments, axes, registry, folder, hooks, settings);
  std::ifstream table(folder / run_folder::kSweepSummaryMd);
  std::cout << table.rdbuf() << "sweep folder: " << folder.string() << " (summary.csv, summary.md, report.html)\n";
  if (outcome.interrupted) {
    std::cout << "interrupted; the variant's checkpoint is in its folder (strata run --resume FOLDER)\n";
    for (const SweepRow& row : outcome.rows)
      if (row.status == "interrupted" && row.outcome.stop_signal == SIGTERM) return kTerminated;
    return kInterrupted;
  }
  return outcome.failed ? kInternalError : kOk;
}

}  // namespace strata::cli
