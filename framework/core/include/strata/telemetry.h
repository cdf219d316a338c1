#pragma once
// Telemetry declarations: the metric series a component logs, typed, so that the
// trainer reduces them over a logging window, metrics.jsonl records what they are, and
// the report, the console line and `strata experts` render them without knowing any
// component's metric names.
//
// A component declares its series (Module::metric_series) and logs values through the
// StepContext under the same names, relative to its scope:
//   scalar     "load_cv"                    ctx.add_metric("load_cv", v)
//   vector     "load", axes {"expert"}      ctx.add_metric_at("load", e, v)        -> "load.<e>"
//   matrix     "coactivation", two axes     ctx.add_metric_at("coactivation", i, j, v) -> "coactivation.<i>.<j>"
//   histogram  "gate", edges b0 < ... < bn  ctx.add_metric_at("gate", bin, count)  -> "gate.<bin>"
// Indices may be sparse (token ids). The trainer takes each step's value as the mean over
// its micro-batches, then reduces the steps of a logging window as `reduce` says.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

enum class MetricKind { scalar, vector, matrix, histogram };
// How a logging window's steps combine. A step that does not log the element counts as
// 0 for mean and sum, and is skipped for last and max.
enum class MetricReduce {
  mean,  // the mean per step over the window (counts become counts per step)
  last,  // the value of the last step that logged it (state such as a bias)
  max,   // the largest value of any step
  sum,   // the total over the window's steps
};

struct MetricSeries {
  std::string name;  // relative to the component's scope, without indices: "load"
  MetricKind kind = MetricKind::scalar;
  std::vector<std::string> axes;  // vector: one name ("expert"); matrix: two; histogram: one ("value")
  std::vector<double> edges;      // histogram only: bin b counts values in [edges[b], edges[b + 1])
  std::string unit;               // "fraction", "slots", "nats", "experts"; "" when dimensionless
  MetricReduce reduce = MetricReduce::mean;
  std::string doc;         // one line: what it measures and how it is computed
  bool headline = false;   // a summary worth a place on the console line and in sweep tables
  std::string scope;       // set by the model: the component's scope ("layers.1.ffn"); "" inside the component

  // The logged key of the series: "<scope>.<name>" ("layers.1.ffn.load").
  std::string key() const { return scope.empty() ? name : scope + "." + name; }
};

std::string_view to_string(MetricKind kind);
std::string_view to_string(MetricReduce reduce);
MetricKind parse_metric_kind(std::string_view name);      // ValueError for an unknown name
MetricReduce parse_metric_reduce(std::string_view name);  // ValueError for an unknown name

// A declaration placed in a scope ("layers.1.ffn"; nested scopes join with ".").
MetricSeries scoped_series(const MetricSeries& series, const std::string& scope);

// The declared series that a logged key ("layers.1.ffn.load.3") belongs to: the longest
// declared key() that equals the key or prefixes it followed by "." and numeric indices
// (as many as the kind has axes). Null when none.
const MetricSeries* find_series(const std::vector<MetricSeries>& declared, std::string_view key);

// A scope as a reader names it: "layers.3.ffn" -> "layer 3", "layers.3.mixer" -> "layer 3
// mixer", anything else unchanged ("" -> "model").
std::string scope_label(const std::string& scope);
// Orders scopes by their layer number when they have one ("layers.2" before "layers.10").
bool scope_less(const std::string& a, const std::string& b);

// find_series with the answer kept per key: for walking every key of many records (a
// record of detailed MoE telemetry holds thousands). `declared` must outlive the index.
class SeriesIndex {
 public:
  explicit SeriesIndex(const std::vector<MetricSeries>& declared) : declared_(declared) {}
  // The series of a logged key without the "metric." prefix, or null.
  const MetricSeries* find(std::string_view key);
  // The series of a record key "metric.<key>", or null for any other record key.
  const MetricSeries* find_record_key(std::string_view record_key);

 private:
  const std::vector<MetricSeries>& declared_;
  std::map<std::string, const MetricSeries*, std::less<>> cache_;
};

}  // namespace strata
