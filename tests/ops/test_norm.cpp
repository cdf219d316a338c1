#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;

namespace {
Tensor reference_rmsnorm(const Tensor& x, const Tensor& w, double eps) {
  return mul(div(x, sqrt(add(mean(square(x), {-1}, true), eps))), w);
}
Tensor reference_layernorm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  const Tensor centered = sub(x, mean(x, {-1}, true));
  const Tensor var = mean(square(centered), {-1}, true);
  return add(mul(div(centered, sqrt(add(var, eps))), w), b);
}
}  // namespace

TEST_CASE("rmsnorm and layernorm match their compositions", "[ops][norm]") {
  Generator gen(50);
  const Tensor x = Tensor::randn({2, 5, 64}, gen, DType::f64, 0.5, 2.0);
  const Tensor w = Tensor::randn({64}, gen, DType::f64), b = Tensor::randn({64}, gen, DType::f64);
  STRATA_REQUIRE_CLOSE(rmsnorm(x, w, 1e-6), reference_rmsnorm(x, w, 1e-6), 1e-12, 1e-12);
  STRATA_REQUIRE_CLOSE(rmsnorm(x, Tensor(), 1e-6), reference_rmsnorm(x, Tensor::ones({64}, DType::f64), 1e-6), 1e-12,
                       1e-12);
  STRATA_REQUIRE_CLOSE(layernorm(x, w, b, 1e-5), reference_layernorm(x, w, b, 1e-5), 1e-12, 1e-12);
  STRATA_REQUIRE_CLOSE(rmsnorm(x.to(DType::f32), w.to(DType::f32), 1e-6), reference_rmsnorm(x, w, 1e-6), 1e-5, 1e-5);
  STRATA_REQUIRE_CLOSE(layernorm(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32)),
                       reference_layernorm(x, w, b, 1e-5), 1e-5, 1e-5);
}

TEST_CASE("layernorm stays accurate when the mean dwarfs the spread", "[ops][norm]") {
  Generator gen(51);
  // one-pass E[x^2] - E[x]^2 in f32 would lose the variance entirely (E[x^2] ~ 1e8)
  const Tensor noise = Tensor::randn({4, 256}, gen, DType::f64);
  const Tensor x = add(noise, 1e4).to(DType::f32);
  const Tensor none;
  STRATA_REQUIRE_CLOSE(layernorm(x, none, none), layernorm(x.to(DType::f64), none, none), 1e-3, 0.0);
}

TEST_CASE("norms gradcheck with and without affine parameters", "[ops][norm][gradcheck]") {
  Generator gen(52);
  const Tensor x = leaf({3, 2, 8}, gen), w = leaf({8}, gen), b = leaf({8}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return rmsnorm(in[0], in[1], 1e-5); }, {x, w});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return rmsnorm(in[0], Tensor(), 1e-5); }, {x});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return layernorm(in[0], in[1], in[2]); }, {x, w, b});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return layernorm(in[0], in[1], Tensor()); }, {x, w});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return layernorm(in[0], Tensor(), Tensor()); }, {x});
  // many rows, so the weight gradient is summed over several fixed blocks
  const Tensor tall = leaf({300, 4}, gen), w4 = leaf({4}, gen), b4 = leaf({4}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return rmsnorm(in[0], in[1]); }, {tall, w4});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return layernorm(in[0], in[1], in[2]); },
                           {tall, w4, b4});
}

TEST_CASE("norm errors", "[ops][norm][errors]") {
  const Tensor x = Tensor::zeros({2, 8});
  REQUIRE_THROWS_WITH(rmsnorm(x, Tensor::ones({7})), Catch::Contains("rmsnorm: weight [7] does not match x [2, 8]"));
  REQUIRE_THROWS_WITH(layernorm(x, Tensor(), Tensor::ones({2})), Catch::Contains("layernorm: bias [2]"));
  REQUIRE_THROWS_AS(rmsnorm(x, Tensor(), 0.0), ValueError);
  REQUIRE_THROWS_AS(rmsnorm(x, Tensor::ones({8}, DType::f64)), DTypeError);
}
