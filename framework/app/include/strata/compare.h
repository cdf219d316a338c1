#pragma once
// Comparing runs that were not one sweep (other days, files or machines): `strata compare
// RUN_OR_SWEEP...`. Runs whose resolved configs differ only in train.seed are the seeds of
// one variant; each variant's final metrics are summarised over its seeds (mean, standard
// deviation, 95% interval) and tested against the first variant given, as the sweep
// report does (docs/experiments.md, "Comparing variants").
#include <filesystem>
#include <string>
#include <vector>

namespace strata {

// The run folders that `paths` name, in order: a run folder (it has config.toml,
// metrics.jsonl or final.json) as itself; a sweep folder as its runs, in summary.csv's
// order (else by name). FileFormatError naming the path for anything else.
std::vector<std::filesystem::path> runs_to_compare(const std::vector<std::filesystem::path>& paths);

struct ComparisonSummary {
  std::string table;                    // the ranked table for a terminal, at most `width` columns
  std::vector<std::string> statements;  // which differences exceed seed noise, one sentence each
  std::vector<std::string> notes;       // what was missing in the runs
};

// Compares `runs` (run folders), writes the HTML comparison to `report_file` (atomically;
// self-contained, offline; none when empty) and returns the terminal summary.
ComparisonSummary compare_runs_and_report(const std::vector<std::filesystem::path>& runs,
                                          const std::filesystem::path& report_file, int width = 100);

}  // namespace strata
