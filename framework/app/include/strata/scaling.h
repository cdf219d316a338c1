#pragma once
// How a cost grows with the context length: power-law slopes and the length from which one
// model becomes cheaper than another, from costs measured at a few lengths (strata profile).
//
//   loglog_slope({512, 1024, 2048}, {10, 40, 160})            -> 2.0 (quadratic)
//   estimate_crossover({256, 512}, mamba_ms, attention_ms)     -> {below_range, ~110}
#include <cstdint>
#include <vector>

namespace strata {

// Least-squares slope of log(y) against log(x) over the points with x, y > 0; NaN with
// fewer than two such points. lengths and costs have the same size.
double loglog_slope(const std::vector<double>& lengths, const std::vector<double>& costs);

struct Crossover {
  enum class Kind {
    none,         // `a` costs more than `b` at the longest measured length
    measured,     // `a` is no dearer from `length` on, which lies within the measured range
    below_range,  // `a` is no dearer at every measured length; extrapolating the first two
                  // lengths' ratio places the crossover at `length`, below the shortest
    always,       // `a` is no dearer at every measured length and the trend does not turn
  };
  Kind kind = Kind::none;
  double length = 0;  // measured: interpolated in log-log between the bracketing lengths
};

// The length from which `a` costs no more than `b` at every longer measured length. Both
// cost lists are indexed like `lengths` (ascending); a cost <= 0 means "not measured" and
// that length is ignored.
Crossover estimate_crossover(const std::vector<double>& lengths, const std::vector<double>& a,
                             const std::vector<double>& b);

}  // namespace strata
