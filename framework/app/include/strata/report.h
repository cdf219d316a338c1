#pragma once
// Self-contained HTML reports of runs and sweeps: one report.html per folder, with the
// charts as inline SVG (no scripts, no network, no external fonts or style sheets), so
// the file opens in any browser, offline, and can be mailed or archived on its own.
//
// A run report reads the run folder (config.toml, plan.txt, final.json, metrics.jsonl)
// and shows: the experiment, task and model; the final metrics; train and eval loss;
// eval accuracy; the learning-rate schedule; one expert-load heatmap per MoE layer; the
// balance (auxiliary) losses; and the routing telemetry (load CV, dead experts, ...).
// Every input file is optional: what is missing or unreadable (a corrupt metrics line, a
// run that did not finish) is named in the report instead of failing it.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace strata {

// Reads `run_folder` and writes run_folder/report.html (atomically). Returns its path.
// Throws Error when the folder does not exist or the report cannot be written; never
// for missing or malformed files inside the folder.
std::filesystem::path write_run_report(const std::filesystem::path& run_folder);

// One variant of a sweep, as the sweep report shows it.
struct SweepReportVariant {
  std::string name;                                           // its folder name within the sweep
  std::filesystem::path folder;                               // its run folder (metrics.jsonl, report.html)
  std::vector<std::pair<std::string, std::string>> settings;  // (dotted key, value text), one per axis
};

// Writes sweep_folder/report.html: the summary table (every column of
// sweep_folder/summary.csv), the variants' eval loss, eval accuracy and train loss
// overlaid (each variant named by its settings), and a relative link to each variant's
// own report.html. Throws Error when the folder does not exist or the report cannot be
// written.
std::filesystem::path write_sweep_report(const std::filesystem::path& sweep_folder,
                                         const std::vector<SweepReportVariant>& variants);

}  // namespace strata
