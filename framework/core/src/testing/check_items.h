#pragma once
// Framework-internal: what the component checks share (component_check.cpp,
// optimizer_check.cpp): running one check, and formatting what it found.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "strata/config.h"
#include "strata/tensor.h"
#include "strata/testing/component_check.h"

namespace strata::testing {

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double worst = 0;
  for (std::size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::abs(va[i] - vb[i]));
  return worst;
}

// The largest of a check's differences and what it was, against round-off in f64.
struct WorstDifference {
  double worst = 0;
  std::string where;
  void note(double d, const std::string& what) {
    if (d > worst) worst = d, where = what;
  }
  bool beyond_round_off() const { return worst > 1e-9; }
};

inline std::string fmt(double v) {
  std::ostringstream os;
  os.precision(3);
  os << v;
  return os.str();
}

// Runs one check: an exception fails it (with the message), except a ConfigError, which is
// bad input (the component refused its config) and propagates.
template <class Fn>
CheckItem run_check(const std::string& name, Fn&& fn) {
  CheckItem item;
  item.name = name;
  try {
    fn(item);
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    item.passed = false;
    item.detail = std::string("threw: ") + e.what();
  }
  return item;
}

// The optimizer checks (optimizer_check.cpp).
CheckReport check_optimizer(const ComponentRegistry& registry, const Config& config, const ComponentCheckOptions& o);

}  // namespace strata::testing
