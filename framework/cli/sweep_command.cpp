// strata run with a sweep: the command line of strata/sweep_run.h (validation of every
// variant first, progress lines, the summary table on stdout, the exit code).
#include <fstream>
#include <iostream>

#include "strata/run_folder.h"
#include "cli/run_single.h"
#include "strata/sweep_run.h"

namespace strata::cli {

namespace fs = std::filesystem;

int run_sweep(const RunOptions& options, const std::vector<SweepAxis>& axes, ComponentRegistry& registry) {
  const std::vector<SweepVariant> variants = expand_sweep(axes);
  // Every variant is validated before any trains: a typo in the last one costs nothing.
  std::vector<Experiment> experiments;
  for (const SweepVariant& v : variants)
    experiments.push_back(load_sweep_variant(options.file, options.common.experiment_options(), v, axes, registry));
  const fs::path folder = options.out.empty() ? default_run_folder(experiments.front()) : fs::path(options.out);
  create_run_folder(folder, options.out.empty() ? "[run] out_dir" : "--out");
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
  const SweepOutcome outcome = run_sweep_in_folder(variants, experiments, axes, registry, folder, hooks);
  std::ifstream table(folder / run_folder::kSweepSummaryMd);
  std::cout << table.rdbuf() << "sweep folder: " << folder.string() << " (summary.csv, summary.md, report.html)\n";
  if (outcome.interrupted) {
    std::cout << "interrupted; the variant's checkpoint is in its folder (strata run --resume FOLDER)\n";
    return kInterrupted;
  }
  return outcome.failed ? kInternalError : kOk;
}

}  // namespace strata::cli
