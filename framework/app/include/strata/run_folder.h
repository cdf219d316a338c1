#pragma once
// The run folder: what `strata run` writes, and what the report, `strata experts`, sweeps
// and --resume read back. One module owns the names and the metrics format.
//
//   RUN/config.toml        the resolved experiment (defaults as comments)
//   RUN/plan.txt           the layer plan (Model::describe)
//   RUN/metrics.jsonl      first the components' metric declarations, {"series": [{"name":
//                          "load", "scope": "layers.1.ffn", "kind": "vector", "axes": ["expert"], "unit":
//                          "fraction", "reduce": "mean", "doc": ..., "headline": false}, ...]}
//                          (strata/telemetry.h); then one JSON object per logged step:
//                          {"step": N, "loss": ..., "metric.layers.1.ffn.load.3": ...};
//                          non-finite values as null; written as training goes
//   RUN/metrics.csv        the same as a table (step first, columns by first appearance)
//   RUN/experts.csv        step, scope, series, expert, value: every declared per-expert vector
//                          (the MoE load, selection biases), when logged
//   RUN/final.json         the final metrics, timings, memory, decoding probe
//   RUN/report.html        the self-contained report (report.h)
//   RUN/checkpoint/        the latest checkpoint (checkpoint.h)
//   RUN/checkpoints/step-NNNNNN/   kept snapshots (train.keep_checkpoints)
//   RUN/variant.json       in a sweep's variant: {"sweep": experiment name, "variant": its name,
//                          "settings": [[key, value], ...]}, so that its report names it
// A sweep folder holds one run folder per variant (and seed), summary.csv (one row per run),
// summary.md, report.html and, when it has seeds, summary_variants.csv (each variant's
// mean, standard deviation, 95% interval and p-value against the first over its seeds).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "strata/telemetry.h"
#include "strata/trainer.h"

namespace strata::run_folder {

inline constexpr const char* kConfigFile = "config.toml";
inline constexpr const char* kPlanFile = "plan.txt";
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kMetricsCsvFile = "metrics.csv";
inline constexpr const char* kExpertsCsvFile = "experts.csv";
inline constexpr const char* kFinalFile = "final.json";
inline constexpr const char* kReportFile = "report.html";
inline constexpr const char* kCheckpointFolder = "checkpoint";
inline constexpr const char* kSnapshotsFolder = "checkpoints";
inline constexpr const char* kSweepSummaryCsv = "summary.csv";
inline constexpr const char* kSweepSummaryMd = "summary.md";
inline constexpr const char* kVariantFile = "variant.json";
inline constexpr const char* kSweepVariantsCsv = "summary_variants.csv";  // with seeds: per variant over its seeds

// Which sweep a run folder belongs to, and as which variant.
struct VariantInfo {
  std::string sweep;  // the experiment's name ([run] name, else the file's stem)
  std::string name;   // the variant's folder name
  std::vector<std::pair<std::string, std::string>> settings;  // (dotted key, TOML value text), one per axis
};
void write_variant_info(const std::filesystem::path& run, const VariantInfo& info);
// nullopt when the run is not a sweep's variant (or its variant.json does not parse).
std::optional<VariantInfo> read_variant_info(const std::filesystem::path& run);

// Appends lines to a log such as metrics.jsonl, each line whole or not at all: a write that
// fails (a full disk, a file size limit) is cut back to the end of the previous line and
// thrown as Error naming the file and the system's reason. The file is closed on destruction.
class LineAppender {
 public:
  // Opens `file` for appending (or empties it first when `truncate`). Error when it cannot.
  LineAppender(const std::filesystem::path& file, bool truncate);
  ~LineAppender();
  LineAppender(const LineAppender&) = delete;
  LineAppender& operator=(const LineAppender&) = delete;

  void append(const std::string& line);  // `line` without its newline
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  int fd_ = -1;
  std::int64_t size_ = 0;  // bytes of complete lines
};

// One metrics.jsonl line for `record` (no newline).
std::string metrics_line(const MetricsRecord& record);
// The declarations line of metrics.jsonl (no newline). A series' key() is its records'
// key without the "metric." prefix.
std::string series_line(const std::vector<MetricSeries>& series);

// RUN/metrics.jsonl read back: the records in file order (null values as NaN; values that
// are not numbers are left out), and the 1-based numbers of lines that are not a JSON
// object with a numeric "step" (a line cut short by a killed process), which are skipped.
struct MetricsLog {
  bool found = false;  // whether the file exists
  // The declarations line; for a file without one (written before components declared
  // their metrics), series inferred from the keys: a vector or matrix by the number of
  // indices, with the axes of the series strata's plugins logged then, scalars as headline.
  bool declared = false;
  std::vector<MetricSeries> series;
  std::vector<MetricsRecord> records;
  std::vector<std::int64_t> bad_lines;
};
MetricsLog read_metrics(const std::filesystem::path& run);

// Keeps the records up to `step` (a resumed run rewrites what came after its checkpoint).
void truncate_metrics(const std::filesystem::path& run, std::int64_t step);

// metrics.csv and experts.csv from metrics.jsonl (neither is written when there is
// nothing to put in it).
void write_metrics_tables(const std::filesystem::path& run);

// A CSV field: quoted when it holds a comma, quote or newline.
std::string csv_field(const std::string& text);

}  // namespace strata::run_folder
