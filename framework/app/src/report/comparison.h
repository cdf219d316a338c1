#pragma once
// Variants compared over seeds, for the sweep report and `strata compare`: the runs are
// grouped into variants (runs whose resolved configs differ only in train.seed are seeds
// of one variant), each variant's final metrics are summarised over its seeds (mean,
// standard deviation, 95% interval: statistics.h), every variant is tested against the
// first one on every metric (Welch's test, and Holm's correction over the variants), and the components' declared metrics are ordered by how much
// they separate the variants, which is how the report chooses its columns. Nothing here
// names a component's metric: the headline series come from the runs' declarations.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "report/run_data.h"
#include "report/statistics.h"
#include "report/svg_chart.h"

namespace strata::report {

// A final metric. The trainer's ("eval_loss", "tokens_per_s", ...) are known here; the
// components' are their declared headline scalar series (by name: the mean over the layers
// that log it) and their auxiliary-loss terms ("aux:switch_aux": the sum over the layers).
struct MetricColumn {
  std::string key;
  std::string label;  // for headings: "eval loss", "load_cv", "switch_aux loss"
  std::string doc;    // one line, for tooltips
  bool declared = false;  // a component's (headline series or aux term), not the trainer's
};

// The final metrics of one run by key: final.json's, and the components' at the last
// logged step.
std::map<std::string, double> final_metrics(const RunData& run);
// One metric of one run over the logged steps (keys as final_metrics names them; the eval
// metrics with their step-0 point when final.json records it).
std::vector<Point> metric_curve(const RunData& run, const std::string& key);

struct ComparedVariant {
  std::string label;                  // unique within the comparison
  std::vector<std::size_t> runs;      // into Comparison::runs, in the order given
  std::vector<std::int64_t> seeds;    // train.seed of each run (-1 when unknown)
  std::map<std::string, Stats> stats;  // by metric key, over the runs
};

struct Comparison {
  std::vector<RunData> runs;
  std::vector<ComparedVariant> variants;  // in the order of their first run
  std::vector<MetricColumn> metrics;      // every metric a run has: the trainer's, then the declared
  std::string primary;                    // the ranking metric: "eval_loss", else "train_loss"
  std::vector<std::size_t> ranking;       // variant indices, lowest primary mean first
  std::size_t reference = 0;              // the variant the others are tested against: the first
  // Per metric key: each variant's Welch p-value against the reference (NaN for the
  // reference itself and where a side has under two seeds), and the same after Holm's
  // correction over the variants tested.
  std::map<std::string, std::vector<double>> p_value, p_holm;
  // The declared metrics that vary between variants, most separating first: by the number
  // of variants that differ from the reference beyond seed noise, then by the spread of
  // the means relative to their size.
  std::vector<std::string> distinguishing;
  bool seeded = false;  // the reference and another variant have two or more seeds: tests can run
  std::vector<std::string> notes;

  const MetricColumn* metric(const std::string& key) const;
  // Beyond seed noise: Welch's p < 0.05 (`corrected`: Holm's adjusted p < 0.05).
  bool differs(const std::string& key, std::size_t variant, bool corrected = false) const;
};

// Groups `runs` (in the order given) and compares them. A seed never appears twice in one
// variant: a second run of the same config and seed (another machine, another day) is a
// variant of its own, labelled by its folder.
Comparison compare_runs(std::vector<RunData> runs);

// One variant's curve of `key`: at each step that its runs log, the mean over them, with
// a band of +-1 standard deviation when it has two or more.
Series variant_curve(const Comparison& comparison, std::size_t variant, const std::string& key);

}  // namespace strata::report
