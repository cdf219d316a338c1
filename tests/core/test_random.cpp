#include <algorithm>
#include <cmath>
#include <numeric>

#include "catch.h"
#include "strata/runtime.h"
#include "strata/tensor.h"

using namespace strata;

namespace {
double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}
}  // namespace

TEST_CASE("the same seed gives the same stream and the offset advances", "[random]") {
  Generator a(42), b(42);
  const auto x1 = Tensor::randn({1000}, a).to_vector<float>();
  const auto y1 = Tensor::randn({1000}, b).to_vector<float>();
  CHECK(x1 == y1);
  const auto x2 = Tensor::randn({1000}, a).to_vector<float>();
  CHECK(x1 != x2);
  CHECK(a.offset() == 500);  // 4 f32 normals per counter

  Generator c(42);
  c.set_state(42, 250);  // skip exactly the first fill
  CHECK(Tensor::randn({1000}, c).to_vector<float>() == x2);
  CHECK(Generator(1).next_u64() != Generator(2).next_u64());
}

TEST_CASE("normal draws have the requested moments", "[random]") {
  Generator gen(7);
  for (DType dt : {DType::f32, DType::f64}) {
    const auto v = Tensor::randn({1 << 20}, gen, dt, 2.0, 3.0).to_vector<double>();
    CHECK(std::abs(mean_of(v) - 2.0) < 0.01);
    CHECK(std::abs(std_of(v) - 3.0) < 0.01);
    // tails exist (Box-Muller on 32-bit uniforms reaches 6.66 sigma), but not absurd ones
    const double biggest =
        *std::max_element(v.begin(), v.end(), [](double a, double b) { return std::abs(a) < std::abs(b); });
    CHECK(std::abs(biggest - 2.0) > 4.0 * 3.0);
    CHECK(std::abs(biggest - 2.0) < 7.0 * 3.0);
  }
}

TEST_CASE("uniform draws stay in the half-open interval", "[random]") {
  Generator gen(9);
  for (DType dt : {DType::f32, DType::f64}) {
    const auto v = Tensor::rand({1 << 18}, gen, dt, -1.0, 1.0).to_vector<double>();
    CHECK(*std::min_element(v.begin(), v.end()) >= -1.0);
    CHECK(*std::max_element(v.begin(), v.end()) < 1.0);
    CHECK(std::abs(mean_of(v)) < 0.01);
    CHECK(std::abs(std_of(v) - 1.0 / std::sqrt(3.0)) < 0.01);
  }
}

TEST_CASE("randint covers the range uniformly", "[random]") {
  Generator gen(11);
  const auto v = Tensor::randint({100000}, -3, 7, gen).to_vector<std::int64_t>();
  std::vector<int> counts(10, 0);
  for (auto x : v) {
    REQUIRE(x >= -3);
    REQUIRE(x < 7);
    ++counts[std::size_t(x + 3)];
  }
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);
}

TEST_CASE("random fills do not depend on the number of threads", "[random][threads]") {
  const int saved = num_threads();
  auto draw = [] {
    Generator gen(123);
    auto a = Tensor::randn({300001}, gen).to_vector<float>();
    auto b = Tensor::rand({300001}, gen, DType::f64).to_vector<float>();
    auto c = Tensor::randint({300001}, 0, 1000, gen).to_vector<float>();
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), c.begin(), c.end());
    return a;
  };
  set_num_threads(1);
  const auto one = draw();
  set_num_threads(2);
  const auto two = draw();
  set_num_threads(saved);
  CHECK(one == two);
}
