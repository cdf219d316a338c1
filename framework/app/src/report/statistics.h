#pragma once
// Summaries over seeds and the test that says whether two variants differ beyond seed
// noise, for the sweep and comparison reports.
//
// - The 95% interval of a mean is Student's t interval, mean +- t(0.975, n-1) s / sqrt(n)
//   (s the sample standard deviation): with 3 seeds t = 4.30, so it is wide on purpose.
// - Two variants differ beyond noise on a metric when Welch's unequal-variance t-test gives
//   p < 0.05 (95% intervals that do not overlap always are; overlapping ones may be too).
//   Each comparison is at the 5% level; Holm's step-down correction over
//   the variants compared with the same reference says which differences also survive the
//   multiplicity of a report of many variants (with 3 seeds it is very conservative).
#include <cstddef>
#include <vector>

namespace strata::report {

struct Stats {
  std::size_t n = 0;  // finite values
  double mean = 0;
  double std = 0;   // sample standard deviation (n - 1); 0 when n < 2
  double low = 0;   // 95% t interval of the mean; equal to mean when n < 2
  double high = 0;
  bool interval() const { return n >= 2; }
};

// The finite values of `values` summarised; n = 0 (and NaN mean) when there are none.
Stats summarize(const std::vector<double>& values);

// Welch's two-sided t-test of equal means: the p-value; NaN when it cannot be tested (either
// side has under two values); 1 when both have no spread and equal means, 0 when neither
// has spread and the means differ (a difference no seed moved).
double welch_p_value(const Stats& a, const Stats& b);

// Holm's step-down adjustment of a family of p-values (same order as given), each at most 1.
std::vector<double> holm_adjusted(const std::vector<double>& p_values);

inline constexpr double kSignificance = 0.05;

}  // namespace strata::report
