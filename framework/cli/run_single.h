#pragma once
// What `strata run` does for one run folder, shared by single runs, resumes and sweeps.
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "strata/sweep.h"
#include "strata/trainer.h"

namespace strata::cli {

struct RunSettings {
  bool quiet = false;
  std::filesystem::path resume_checkpoint;  // empty: a fresh run
};

struct RunOutcome {
  TrainSummary summary;
  std::int64_t parameters = 0;
  double chance_accuracy = 0;
  bool perplexity = false;
  std::size_t peak_memory_bytes = 0;  // tensor memory high-water mark during training
  // A decoding probe after training (one sequence, a prompt from the evaluation set, 64 new
  // tokens); 0 when the model cannot decode.
  double decode_tokens_per_s = 0;
  std::size_t decode_cache_bytes = 0;
};

// runs/<name>-<timestamp> (a new folder) for an experiment without --out.
std::filesystem::path default_run_folder(const Experiment& e);
// Creates a run folder; a ConfigError naming `source` (--out, [run] out_dir) when it cannot.
void create_folder(const std::filesystem::path& folder, const std::string& source);

// Trains `e` in `folder` (created): config.toml, plan.txt, metrics.jsonl, checkpoint/,
// final.json, metrics.csv, experts.csv. Resumes from settings.resume_checkpoint when set.
// Throws TrainingDivergedError (the checkpoint before the failure is kept).
RunOutcome run_in_folder(const Experiment& e, const ComponentRegistry& registry, const std::filesystem::path& folder,
                         const RunSettings& settings);

std::string final_line(const RunOutcome& outcome);
// Prints the final line (or how to resume an interrupted run); returns the exit code.
int report_single(const RunOutcome& outcome, const std::filesystem::path& folder);

// Every variant of the grid in its own folder under the sweep folder, then summary.csv and
// summary.md across variants.
int run_sweep(const RunOptions& options, const std::vector<SweepAxis>& axes, ComponentRegistry& registry);

}  // namespace strata::cli
