#pragma once
// The console side of `strata run`, shared by single runs, resumes and sweeps; the run
// itself is strata/run.h.
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "strata/run.h"
#include "strata/sweep.h"
#include "strata/trainer.h"

namespace strata::cli {

std::string final_line(const RunOutcome& outcome);
// Prints the final line (or how to resume an interrupted run); returns the exit code.
int report_single(const RunOutcome& outcome, const std::filesystem::path& folder);
// The run (or sweep) folder of `options` (--out, else [run] out_dir with a timestamp),
// created by rank 0 and named to every rank of options.world.
std::filesystem::path create_output_folder(const RunOptions& options, const Experiment& experiment);

// The exit code of a run: kOk, or kInterrupted / kTerminated when a signal stopped it.
int exit_code(const RunOutcome& outcome);

// Every variant of the grid in its own folder under the sweep folder, then summary.csv and
// summary.md across variants.
int run_sweep(const RunOptions& options, const std::vector<SweepAxis>& axes, ComponentRegistry& registry);

}  // namespace strata::cli
