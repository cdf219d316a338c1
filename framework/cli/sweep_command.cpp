// strata run with a sweep: the command line of strata/sweep_run.h (validation of every
// variant first, progress lines, the summary table on stdout, the exit code).
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>

#include "strata/compare.h"
#include "strata/memory_guard.h"
#include "strata/run_folder.h"
#include "cli/progress.h"
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
  for (const Experiment& e : experiments) training_device(e);  // a GPU this machine lacks, likewise
  // Under mpirun the variants are spread over the ranks (sweep_run.h); rank 0 names and
  // creates the folder, prints the summary, and shows its own variants' progress.
  Communicator* job = options.world;
  const bool rank0 = job == nullptr || job->rank() == 0;
  const fs::path folder = create_output_folder(options, experiments.front());
  // "[rank 2] " before another rank's lines.
  const std::string who = rank0 ? "" : "[rank " + std::to_string(job->rank()) + "] ";
  if (rank0)
    std::cerr << "strata sweep " << options.file << ": " << variants.size() << " variants -> " << folder.string()
              << (job != nullptr && job->size() > 1 ? " over " + std::to_string(job->size()) + " ranks" : "") << "\n";

  // The sweep's progress: its share of all the variants' training steps, and an ETA from the
  // pace so far (a variant with more steps or a larger model moves it unevenly).
  SweepPosition position;
  position.count = variants.size();
  position.start = std::chrono::steady_clock::now();
  std::vector<std::int64_t> steps;
  for (const Experiment& e : experiments) {
    steps.push_back(e.train.integer("steps"));
    position.steps_total += steps.back();
  }
  std::unique_ptr<Progress> progress;
  SweepHooks hooks;
  hooks.on_variant_start = [&](std::size_t i, const SweepVariant& v) {
    position.index = i;
    std::cerr << who << "[" << i + 1 << "/" << variants.size() << "] " << v.name;
    if (i > 0 && job == nullptr) std::cerr << "  (" << sweep_status(position, position.steps_before) << ")";
    std::cerr << "\n";
    progress = std::make_unique<Progress>(steps[i], options.quiet || !rank0);
    progress->set_sweep(position);
  };
  hooks.run.on_step = [&](std::int64_t step, double loss, double tps) { progress->on_step(step, loss, tps); };
  hooks.run.on_end = [&] { progress->finish(); };
  hooks.on_variant_end = [&](std::size_t i, const SweepRow& row) {
    progress.reset();
    position.steps_before += steps[i];
    if (row.status == "diverged")
      std::cerr << who << "  training failed: " << row.error << "\n";
    else if (!row.outcome.summary.interrupted || rank0)
      std::cerr << who << "  " << final_line(row.outcome) << "\n";
  };
  RunSettings settings;
  settings.check_memory = options.checks.check_memory;
  settings.group = job;
  const SweepOutcome outcome = run_sweep_in_folder(variants, experiments, axes, registry, folder, hooks, settings);
  if (!rank0) return kOk;  // rank 0 reports the sweep and its exit code
  // The comparison as a table that fits the terminal; summary.md has every column.
  const ComparisonSummary comparison = compare_runs_and_report(runs_to_compare({folder}), {}, terminal_columns(STDOUT_FILENO));
  std::cout << comparison.table << "\n";
  for (const std::string& s : comparison.statements) std::cout << s << "\n";
  std::cout << "sweep folder: " << folder.string() << " (summary.csv, summary.md, "
            << (std::filesystem::exists(folder / run_folder::kSweepVariantsCsv) ? "summary_variants.csv, " : "")
            << "report.html)\n";
  if (outcome.interrupted) {
    std::cout << "interrupted; the variant's checkpoint is in its folder (strata run --resume FOLDER)\n";
    for (const SweepRow& row : outcome.rows)
      if (row.status == "interrupted") return exit_code(row.outcome);
    return kInterrupted;
  }
  return outcome.failed ? kInternalError : kOk;
}

}  // namespace strata::cli
