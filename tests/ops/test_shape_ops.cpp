#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;
using strata::test::values;

TEST_CASE("concat, split and chunk", "[ops][shape]") {
  const Tensor a = values({1, 2, 3, 4}, {2, 2}), b = values({5, 6}, {2, 1});
  const Tensor c = concat({a, b}, 1);
  CHECK(c.shape() == Shape{2, 3});
  CHECK(c.to_vector<double>() == std::vector<double>{1, 2, 5, 3, 4, 6});
  CHECK(concat({a, a}, 0).shape() == Shape{4, 2});
  const auto parts = split(c, {2, 1}, 1);
  CHECK(parts[0].to_vector<double>() == a.to_vector<double>());
  CHECK(parts[1].to_vector<double>() == b.to_vector<double>());
  CHECK(parts[0].shares_storage(c));
  const auto chunks = chunk(Tensor::arange(6, DType::f64), 3, 0);
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[2].to_vector<double>() == std::vector<double>{4, 5});
  CHECK(concat({Tensor::arange(2), Tensor::arange(3)}, 0).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 1, 0, 1, 2});
}

TEST_CASE("view and shape ops gradcheck", "[ops][shape][gradcheck]") {
  Generator gen(70);
  const Tensor x = leaf({2, 3, 4}, gen), y = leaf({2, 2, 4}, gen);
  auto weighted = [](const Tensor& t) { return mul(t, t); };  // non-linear, so a wrong mapping shows
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(reshape(in[0], {4, -1})); }, {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(transpose(in[0], 0, 2)); }, {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(in[0].permute({1, 2, 0})); }, {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(slice(in[0], 2, 1, 4, 2)); }, {x});
  STRATA_REQUIRE_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        return weighted(in[0].slice(1, 1, 2).expand({5, 2, 3, 4}));
      },
      {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(in[0].unsqueeze(1).squeeze(1)); }, {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(concat({in[0], in[1]}, 1)); }, {x, y});
  STRATA_REQUIRE_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        const auto p = split(in[0], {1, 2}, 1);
        return std::vector<Tensor>{weighted(p[0]), scale(p[1], 3.0)};
      },
      {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(in[0].contiguous()); }, {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(in[0].transpose(0, 1).contiguous()); },
                           {x});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return weighted(in[0].clone()); }, {x});
}

TEST_CASE("dtype conversion passes the gradient back in the input's dtype", "[ops][shape]") {
  Tensor x = values({1, 2, 3}, {3}).requires_grad_();
  const Tensor y = x.to(DType::f32);
  CHECK(y.requires_grad());
  y.backward(Tensor::from_vector(std::vector<float>{1.5f, -2.0f, 0.25f}, {3}));
  CHECK(x.grad().dtype() == DType::f64);
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1.5, -2.0, 0.25});
  CHECK(!x.to(DType::i64).requires_grad());  // integers carry no gradient
}

TEST_CASE("shape op errors", "[ops][shape][errors]") {
  const Tensor x = Tensor::zeros({2, 3});
  REQUIRE_THROWS_WITH(concat({x, Tensor::zeros({3, 3})}, 1),
                      Catch::Contains("does not match tensors[0] [2, 3] outside dim 1"));
  REQUIRE_THROWS_AS(concat({x, Tensor::zeros({2, 3}, DType::f64)}, 0), DTypeError);
  REQUIRE_THROWS_AS(concat(std::span<const Tensor>(), 0), ValueError);
  REQUIRE_THROWS_WITH(split(x, {1, 1}, 1), Catch::Contains("sizes sum to 2 but dim 1 of [2, 3] has size 3"));
  REQUIRE_THROWS_AS(chunk(x, 2, 1), ShapeError);
  REQUIRE_THROWS_WITH(x.permute({0, 0}), Catch::Contains("appears twice"));
  REQUIRE_THROWS_WITH(x.expand({4, 3}), Catch::Contains("cannot expand [2, 3] to [4, 3]"));
  REQUIRE_THROWS_WITH(x.squeeze(0), Catch::Contains("has size 2, not 1"));
  REQUIRE_THROWS_AS(x.slice(0, 0, 1, 0), ValueError);
}
