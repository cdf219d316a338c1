#pragma once
// Wall-clock helpers for the bench programs that print JSON (bench_models, bench_scan_op).
#include <algorithm>
#include <chrono>
#include <vector>

namespace strata::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The median of non-empty `v` (the upper one of an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace strata::bench
