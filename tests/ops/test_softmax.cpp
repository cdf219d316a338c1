#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;
using strata::test::values;

namespace {
Tensor reference_softmax(const Tensor& x) {
  const auto v = x.to_vector<double>();
  const auto V = x.size(-1);
  std::vector<double> out(v.size());
  for (std::size_t r = 0; r < v.size() / std::size_t(V); ++r) {
    double m = -INFINITY, s = 0;
    for (std::int64_t i = 0; i < V; ++i) m = std::max(m, v[r * std::size_t(V) + std::size_t(i)]);
    for (std::int64_t i = 0; i < V; ++i) s += std::exp(v[r * std::size_t(V) + std::size_t(i)] - m);
    for (std::int64_t i = 0; i < V; ++i)
      out[r * std::size_t(V) + std::size_t(i)] = std::exp(v[r * std::size_t(V) + std::size_t(i)] - m) / s;
  }
  return Tensor::from_vector(out, x.shape());
}
}  // namespace

TEST_CASE("softmax and log_softmax match the definition", "[ops][softmax]") {
  Generator gen(40);
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor x = Tensor::randn({3, 4, 37}, gen, dt, 0.0, 3.0);
    const Tensor want = reference_softmax(x);
    const double tol = dt == DType::f32 ? 1e-6 : 1e-14;
    STRATA_REQUIRE_CLOSE(softmax(x), want, tol, tol);
    STRATA_REQUIRE_CLOSE(exp(log_softmax(x)), want, tol, 1e-5);
    const auto rows = sum(softmax(x), {-1}).to_vector<double>();
    for (double r : rows) CHECK(r == Approx(1.0).epsilon(tol * 10));
  }
}

TEST_CASE("softmax is stable for large logits", "[ops][softmax]") {
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor big = Tensor::from_vector({1000.0, 1001.0, 1002.0, -1000.0, -1001.0, -1002.0}, {2, 3}).to(dt);
    const Tensor small = Tensor::from_vector({0.0, 1.0, 2.0, 0.0, -1.0, -2.0}, {2, 3}).to(dt);
    STRATA_REQUIRE_CLOSE(softmax(big), softmax(small), 1e-7, 1e-6);
    const auto ls = log_softmax(big).to_vector<double>();
    for (double v : ls) CHECK(std::isfinite(v));
    // f32 holds lse ~ 1002.41 to ~6e-5, which bounds the accuracy of x - lse
    CHECK(ls[2] == Approx(-std::log(1 + std::exp(-1.0) + std::exp(-2.0))).epsilon(dt == DType::f32 ? 3e-4 : 1e-12));
  }
}

TEST_CASE("softmax family gradchecks", "[ops][softmax][gradcheck]") {
  Generator gen(41);
  const Tensor x = leaf({2, 3, 7}, gen, 2.0);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return softmax(in[0]); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return log_softmax(in[0]); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return softmax(in[0].transpose(0, 2)); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return log_softmax(scale(in[0], 40.0)); }, {x});
}
