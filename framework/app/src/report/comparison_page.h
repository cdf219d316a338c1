#pragma once
// The sections of a page that compares variants (report/comparison.h), shared by the sweep
// report and `strata compare`:
//   Ranking            the variants by the primary metric, with the primary metric, eval
//                      accuracy and the declared metrics that separate them most, each as
//                      mean +- 95% interval half-width; bold where a variant differs from the
//                      reference beyond seed noise
//   Beyond seed noise  per shown metric, which variants differ from the reference, stated
//   Trade-off          the primary metric against the most separating declared metric (or
//                      throughput), one point per variant with its intervals
//   Metrics over steps one chart per metric (the losses and every declared metric), one
//                      line per variant: the mean over its seeds with a +-1 std band
//   All final metrics  every metric of every variant (folded)
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "report/comparison.h"

namespace strata::report {

// The ranked table's metric columns: the primary metric, eval accuracy when known, then the
// distinguishing declared metrics, at most `max_columns` in all.
std::vector<std::string> ranked_columns(const Comparison& comparison, std::size_t max_columns = 6);

// The sections as HTML; links to the runs' reports are relative to `page_folder`. `toc`
// receives (anchor, title) of each section.
std::string comparison_sections(const Comparison& comparison, const std::filesystem::path& page_folder,
                                std::vector<std::pair<std::string, std::string>>& toc);

// A variant's metric as the tables show it: "0.364 ±0.050", the half-width of the 95%
// interval to two significant digits and the mean to the same decimal place; the mean
// alone (4 significant digits) for one seed; "-" without a value.
std::string mean_and_interval(const Stats& stats);

// "Beyond seed noise" as plain sentences, one per shown metric (also what the terminal prints).
std::vector<std::string> noise_statements(const Comparison& comparison);

}  // namespace strata::report
