#pragma once
// The files of a run folder besides the checkpoint: metrics.jsonl (written as training
// goes), and the tables derived from it at the end: metrics.csv and experts.csv.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/trainer.h"

namespace strata::cli {

nlohmann::json to_json(const MetricsRecord& r);
nlohmann::json to_json(const EvalResult& r, bool perplexity);

// The records of RUN/metrics.jsonl (lines that are not JSON objects are skipped).
std::vector<nlohmann::json> read_metrics(const std::filesystem::path& run);
// Keeps the records up to `step` (a resumed run rewrites what came after its checkpoint).
void truncate_metrics(const std::filesystem::path& run, std::int64_t step);

// metrics.csv: one row per record, one column per key (step first, then in order of first
// appearance), empty where a record lacks the key. experts.csv: step, layer, expert, load
// from the MoE load telemetry (metric.layers.L.ffn.load.E). Neither file is written when
// there is nothing to put in it.
void write_metrics_tables(const std::filesystem::path& run);

// A CSV field: quoted when it holds a comma, quote or newline.
std::string csv_field(const std::string& text);

}  // namespace strata::cli
