#pragma once
// Reading a run folder for the reports, robustly: every file is optional, a metrics line
// that does not parse is skipped, and whatever is missing or skipped becomes a note that
// the report shows. Nothing here throws on bad contents.
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "report/svg_chart.h"
#include "strata/optim.h"
#include "strata/telemetry.h"
#include "strata/run_folder.h"

namespace strata::report {

// One line of metrics.jsonl. JSON nulls (non-finite values) are NaN.
struct LoggedStep {
  std::int64_t step = 0;
  std::map<std::string, double> values;
};

struct RunData {
  std::filesystem::path folder;
  std::string name;  // run.name, else the experiment file's stem, else the folder name
  std::string task;  // task.type from config.toml ("" when unknown)
  std::optional<run_folder::VariantInfo> variant;  // set when the run is a sweep's variant
  std::vector<LoggedStep> steps;
  std::optional<nlohmann::json> final_json;  // final.json when it parsed as an object
  std::string plan;                          // plan.txt ("" when missing)
  std::string config_text;                   // config.toml ("" when missing)
  // The learning-rate schedule of [train] (lr, warmup_steps, steps, min_lr_ratio,
  // schedule), when config.toml names all of them (defaults included as comments).
  std::optional<LrSchedule> schedule;
  std::vector<std::string> notes;  // what is missing or was skipped, for the reader
  // The components' metric declarations (metrics.jsonl's first line); for a run written
  // before declarations existed, inferred from its keys (declared = false).
  std::vector<MetricSeries> series;
  bool declared = false;
};

// A record key ("metric.layers.1.ffn.load.3") resolved against the run's declarations.
struct SeriesKey {
  const MetricSeries* series = nullptr;
  std::vector<std::int64_t> indices;  // one per axis
};
// Every "metric." key of `keys` that a declared series covers, with its indices.
std::map<std::string, SeriesKey> resolve_series_keys(const RunData& run, const std::vector<std::string>& keys);

// The resolved config lists keys left at their defaults as comments
// ("# min_lr_ratio = 0.1  # default"); uncommented, the text states every value.
std::string with_defaults_uncommented(const std::string& config_text);

// Reads config.toml, plan.txt, final.json and metrics.jsonl from `folder`.
RunData read_run_folder(const std::filesystem::path& folder);

// The (step, value) points of one metrics key, in file order; steps without the key are
// left out, nulls are kept as NaN (gaps).
std::vector<Point> series_of(const std::vector<LoggedStep>& steps, const std::string& key);
// An eval curve ("eval_loss", "eval_accuracy", "eval_perplexity") with the evaluation
// before training (final.json's initial_eval) as its step-0 point when it is known.
std::vector<Point> eval_curve(const RunData& run, const std::string& key);
// Every key that occurs in any logged step, sorted.
std::vector<std::string> all_keys(const std::vector<LoggedStep>& steps);

// An auxiliary-loss key "aux.<scope>[.balance.<i>].<term>" taken apart.
struct AuxKey {
  std::string scope;  // "layers.1.ffn"
  std::string slot;   // "balance.0" ("" when absent)
  std::string term;   // "switch_aux"
};
std::optional<AuxKey> parse_aux_key(const std::string& key);

// The last component of a folder's absolute path ("runs/a/" -> "a"), for titles.
std::string folder_name(const std::filesystem::path& folder);
// `path` made absolute (as given when that fails) and normalised.
std::filesystem::path absolute_path(const std::filesystem::path& path);

// Reads a CSV file (RFC 4180: quoted fields, doubled quotes, CRLF). Rows may differ in
// length. Returns nullopt when the file cannot be opened.
std::optional<std::vector<std::vector<std::string>>> read_csv(const std::filesystem::path& file);

}  // namespace strata::report
