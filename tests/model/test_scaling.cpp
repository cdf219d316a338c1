// Scaling fits for strata profile: power-law slopes and crossover lengths, checked on costs
// built from known power laws.
#include <cmath>
#include <vector>

#include "catch.h"
#include "strata/scaling.h"

using namespace strata;

namespace {

std::vector<double> power_law(const std::vector<double>& lengths, double scale, double exponent) {
  std::vector<double> out;
  for (double T : lengths) out.push_back(scale * std::pow(T, exponent));
  return out;
}

}  // namespace

TEST_CASE("scaling: log-log slopes recover the exponent and skip unmeasured points", "[scaling]") {
  const std::vector<double> T{256, 512, 1024, 2048};
  CHECK(loglog_slope(T, power_law(T, 3e-4, 2.0)) == Approx(2.0));
  CHECK(loglog_slope(T, power_law(T, 7.0, 1.0)) == Approx(1.0));
  std::vector<double> holes = power_law(T, 1.0, 1.5);
  holes[1] = 0;  // not measured
  CHECK(loglog_slope(T, holes) == Approx(1.5));
  CHECK(std::isnan(loglog_slope({512}, {3.0})));
  CHECK_THROWS(loglog_slope(T, {1.0}));
}

TEST_CASE("scaling: the crossover of two power laws is interpolated, extrapolated or absent", "[scaling]") {
  // linear: 100 T; quadratic: T^2; equal at T = 100.
  const auto linear = [](const std::vector<double>& T) { return power_law(T, 100.0, 1.0); };
  const auto quadratic = [](const std::vector<double>& T) { return power_law(T, 1.0, 2.0); };

  const std::vector<double> around{25, 50, 200, 400};
  const Crossover inside = estimate_crossover(around, linear(around), quadratic(around));
  CHECK(inside.kind == Crossover::Kind::measured);
  CHECK(inside.length == Approx(100.0));  // exact: log(ratio) is linear in log T

  const std::vector<double> above{400, 800, 1600};
  const Crossover below = estimate_crossover(above, linear(above), quadratic(above));
  CHECK(below.kind == Crossover::Kind::below_range);
  CHECK(below.length == Approx(100.0));

  // The quadratic one never becomes cheaper at longer lengths.
  CHECK(estimate_crossover(above, quadratic(above), linear(above)).kind == Crossover::Kind::none);
  // Cheaper everywhere with a ratio that does not close going down: no crossover to extrapolate.
  CHECK(estimate_crossover(above, power_law(above, 1.0, 1.0), power_law(above, 2.0, 1.0)).kind ==
        Crossover::Kind::always);
  // Cheaper, dearer, cheaper: the crossover is the last one, from which `a` stays cheaper.
  const Crossover last = estimate_crossover({100, 200, 400, 800}, {1, 3, 2, 2}, {2, 2, 4, 4});
  CHECK(last.kind == Crossover::Kind::measured);
  CHECK(last.length > 200);
  CHECK(last.length < 400);
  // A length one side did not measure is ignored.
  const Crossover gap = estimate_crossover({25, 50, 100, 200, 400}, {2500, 5000, 0, 20000, 40000},
                                           {625, 2500, 10000, 40000, 160000});
  CHECK(gap.kind == Crossover::Kind::measured);
  CHECK(gap.length == Approx(100.0));
}
