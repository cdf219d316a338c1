#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;
using strata::test::values;

namespace {
// plain reference: sum of x [A, B, C] over the axes given by the mask
std::vector<double> reference_sum(const Tensor& x, bool r0, bool r1, bool r2) {
  const auto v = x.to_vector<double>();
  const auto A = x.size(0), B = x.size(1), C = x.size(2);
  const auto oa = r0 ? 1 : A, ob = r1 ? 1 : B, oc = r2 ? 1 : C;
  std::vector<double> out(std::size_t(oa * ob * oc), 0.0);
  for (std::int64_t a = 0; a < A; ++a)
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t c = 0; c < C; ++c)
        out[std::size_t(((r0 ? 0 : a) * ob + (r1 ? 0 : b)) * oc + (r2 ? 0 : c))] += v[std::size_t((a * B + b) * C + c)];
  return out;
}
}  // namespace

TEST_CASE("sum over every combination of axes matches a plain loop", "[ops][reduce]") {
  Generator gen(20);
  const Tensor x = Tensor::randn({5, 7, 9}, gen, DType::f64);
  for (int mask = 1; mask < 8; ++mask) {
    std::vector<int> axes;
    for (int d = 0; d < 3; ++d)
      if (mask & (1 << d)) axes.push_back(d);
    INFO("mask " << mask);
    const Tensor kept = sum(x, axes, true);
    const auto want = reference_sum(x, mask & 1, mask & 2, mask & 4);
    const auto got = kept.to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-12));
    CHECK(sum(x, axes, false).numel() == kept.numel());
  }
  CHECK(sum(x, {-1}).shape() == Shape{5, 7});
  CHECK(sum(x, {0, 2}, true).shape() == Shape{1, 7, 1});
  CHECK(sum(x).rank() == 0);
  CHECK(mean(values({1, 2, 3, 4}, {2, 2}), {1}).to_vector<double>() == std::vector<double>{1.5, 3.5});
  CHECK(mean(values({1, 2, 3, 4}, {2, 2})).item() == 2.5);
}

TEST_CASE("f32 sums of long rows stay accurate", "[ops][reduce]") {
  // 32M ones: naive f32 accumulation stalls at 2^24
  const Tensor x = Tensor::ones({1 << 25});
  CHECK(sum(x).item() == double(1 << 25));
  const Tensor cols = Tensor::ones({1 << 21, 4});
  CHECK(sum(cols, {0}).to_vector<double>() == std::vector<double>(4, double(1 << 21)));
}

TEST_CASE("reductions gradcheck", "[ops][reduce][gradcheck]") {
  Generator gen(21);
  const Tensor x = leaf({3, 4, 5}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return sum(in[0], {1}, true); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return mean(in[0], {-1}); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return mean(in[0].transpose(0, 2), {0, 1}); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return mean(in[0]); }, {x});
}

TEST_CASE("reduction errors", "[ops][reduce][errors]") {
  const Tensor x = Tensor::zeros({2, 3});
  REQUIRE_THROWS_WITH(sum(x, {1, -1}), Catch::Contains("axis -1 is given twice"));
  REQUIRE_THROWS_WITH(sum(x, {2}), Catch::Contains("sum: dim 2 is out of range"));
  REQUIRE_THROWS_AS(mean(Tensor::zeros({0, 3}), {0}), ValueError);
}
