#include "report/statistics.h"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numeric>

namespace strata::report {

Stats summarize(const std::vector<double>& values) {
  Stats s;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++s.n;
    }
  if (s.n == 0) {
    s.mean = s.low = s.high = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  s.mean = sum / double(s.n);
  s.low = s.high = s.mean;
  if (s.n < 2) return s;
  double squares = 0;
  for (double v : values)
    if (std::isfinite(v)) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / double(s.n - 1));
  const boost::math::students_t t(double(s.n - 1));
  const double half = boost::math::quantile(t, 0.975) * s.std / std::sqrt(double(s.n));
  s.low = s.mean - half;
  s.high = s.mean + half;
  return s;
}

double welch_p_value(const Stats& a, const Stats& b) {
  if (a.n < 2 || b.n < 2) return std::numeric_limits<double>::quiet_NaN();
  const double va = a.std * a.std / double(a.n), vb = b.std * b.std / double(b.n);
  const double se2 = va + vb;
  const double diff = std::fabs(a.mean - b.mean);
  // No spread on either side: a difference is one every seed agrees on, up to rounding.
  const double scale = std::max({std::fabs(a.mean), std::fabs(b.mean), 1e-300});
  if (se2 <= 0 || std::sqrt(se2) <= 1e-12 * scale) return diff <= 1e-12 * scale ? 1.0 : 0.0;
  const double t = diff / std::sqrt(se2);
  // Welch-Satterthwaite, in shares of se2 so that tiny variances do not underflow.
  const double ra = va / se2, rb = vb / se2;
  const double df = 1.0 / (ra * ra / double(a.n - 1) + rb * rb / double(b.n - 1));
  if (!std::isfinite(t) || !std::isfinite(df) || df <= 0) return std::numeric_limits<double>::quiet_NaN();
  const boost::math::students_t dist(df);
  return std::clamp(2 * boost::math::cdf(boost::math::complement(dist, t)), 0.0, 1.0);
}

std::vector<double> holm_adjusted(const std::vector<double>& p_values) {
  const std::size_t m = p_values.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
  std::vector<double> adjusted(m);
  double running = 0;  // adjusted values never decrease along the sorted order
  for (std::size_t rank = 0; rank < m; ++rank) {
    running = std::max(running, std::min(1.0, double(m - rank) * p_values[order[rank]]));
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

}  // namespace strata::report
