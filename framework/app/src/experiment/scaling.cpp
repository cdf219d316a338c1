#include "strata/scaling.h"

#include <cmath>

#include "strata/error.h"

namespace strata {

double loglog_slope(const std::vector<double>& lengths, const std::vector<double>& costs) {
  if (lengths.size() != costs.size()) throw ValueError("loglog_slope: lengths and costs differ in size");
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int n = 0;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] <= 0 || costs[i] <= 0) continue;
    const double x = std::log(lengths[i]), y = std::log(costs[i]);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
    ++n;
  }
  if (n < 2 || n * sxx - sx * sx <= 0) return std::nan("");
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

Crossover estimate_crossover(const std::vector<double>& lengths, const std::vector<double>& a,
                             const std::vector<double>& b) {
  if (lengths.size() != a.size() || lengths.size() != b.size())
    throw ValueError("estimate_crossover: lengths and costs differ in size");
  // log(a / b) at each length both were measured: <= 0 where `a` is no dearer.
  std::vector<double> log_length, log_ratio;
  for (std::size_t i = 0; i < lengths.size(); ++i)
    if (lengths[i] > 0 && a[i] > 0 && b[i] > 0) {
      log_length.push_back(std::log(lengths[i]));
      log_ratio.push_back(std::log(a[i] / b[i]));
    }
  Crossover out;
  const std::size_t n = log_ratio.size();
  if (n == 0 || log_ratio.back() > 0) return out;
  std::size_t first = n - 1;  // the first of the trailing run of lengths where `a` is no dearer
  while (first > 0 && log_ratio[first - 1] <= 0) --first;
  if (first > 0) {
    // r goes from > 0 to <= 0 between first-1 and first: where the straight line crosses 0.
    const double r0 = log_ratio[first - 1], r1 = log_ratio[first];
    const double t = r0 / (r0 - r1);
    out.kind = Crossover::Kind::measured;
    out.length = std::exp(log_length[first - 1] + t * (log_length[first] - log_length[first - 1]));
    return out;
  }
  out.kind = Crossover::Kind::always;
  if (n < 2) return out;
  // No dearer everywhere: where would the first two lengths' trend reach parity?
  const double slope = (log_ratio[1] - log_ratio[0]) / (log_length[1] - log_length[0]);
  if (slope < 0 && log_ratio[0] < 0) {
    out.kind = Crossover::Kind::below_range;
    out.length = std::exp(log_length[0] - log_ratio[0] / slope);
  }
  return out;
}

}  // namespace strata
