#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;
using strata::test::values;

namespace {
Tensor ids(std::vector<std::int64_t> v, const Shape& shape) { return Tensor::from_vector(v, shape); }
}  // namespace

TEST_CASE("embedding looks up rows and accumulates repeated ids", "[ops][indexing]") {
  Tensor w = values({0, 1, 10, 11, 20, 21}, {3, 2}).requires_grad_();
  const Tensor tokens = ids({2, 0, 2, 2}, {2, 2});
  const Tensor e = embedding(w, tokens);
  CHECK(e.shape() == Shape{2, 2, 2});
  CHECK(e.to_vector<double>() == std::vector<double>{20, 21, 0, 1, 20, 21, 20, 21});
  sum(e).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 1, 0, 0, 3, 3});
  REQUIRE_THROWS_WITH(embedding(w, ids({0, 3}, {2})), Catch::Contains("embedding: index[1] = 3 is outside [0, 3)"));
  REQUIRE_THROWS_WITH(embedding(w, ids({0, -1}, {2})), Catch::Contains("index[1] = -1"));
  REQUIRE_THROWS_AS(embedding(w, Tensor::zeros({2})), DTypeError);
}

TEST_CASE("index_select and index_add along any dim", "[ops][indexing]") {
  const Tensor x = Tensor::arange(24, DType::f64).reshape({2, 3, 4});
  const Tensor sel = index_select(x, 2, ids({3, 0, 3}, {3}));
  CHECK(sel.shape() == Shape{2, 3, 3});
  CHECK(sel.to_vector<double>()[0] == 3);
  CHECK(sel.to_vector<double>()[1] == 0);
  const Tensor rows = index_select(x, 1, ids({2}, {1}));
  CHECK(rows.to_vector<double>() == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
  const Tensor added =
      index_add(Tensor::zeros({4, 2}, DType::f64), 0, ids({1, 3, 1}, {3}), values({1, 2, 3, 4, 5, 6}, {3, 2}));
  CHECK(added.to_vector<double>() == std::vector<double>{0, 0, 6, 8, 0, 0, 3, 4});
  CHECK(index_select(Tensor::arange(5), 0, ids({4, 1}, {2})).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{4, 1});
}

TEST_CASE("gather and scatter_add follow torch semantics", "[ops][indexing]") {
  const Tensor x = values({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor g = gather(x, 1, ids({2, 0, 1, 1}, {2, 2}));
  CHECK(g.to_vector<double>() == std::vector<double>{3, 1, 5, 5});
  const Tensor g0 = gather(x, 0, ids({1, 0, 1}, {1, 3}));
  CHECK(g0.to_vector<double>() == std::vector<double>{4, 2, 6});
  const Tensor s =
      scatter_add(Tensor::zeros({2, 3}, DType::f64), 1, ids({2, 2, 0, 1}, {2, 2}), values({1, 2, 3, 4}, {2, 2}));
  CHECK(s.to_vector<double>() == std::vector<double>{0, 0, 3, 3, 4, 0});
  // src larger than index: only the index's extent is read
  const Tensor s2 = scatter_add(Tensor::zeros({3}, DType::f64), 0, ids({2}, {1}), values({7, 8}, {2}));
  CHECK(s2.to_vector<double>() == std::vector<double>{0, 0, 7});
}

TEST_CASE("indexing ops gradcheck", "[ops][indexing][gradcheck]") {
  Generator gen(80);
  const Tensor w = leaf({5, 3}, gen);
  const Tensor tok = ids({4, 0, 4, 1, 2, 4}, {2, 3});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return square(embedding(in[0], tok)); }, {w});
  const Tensor x = leaf({2, 4, 3}, gen);
  STRATA_REQUIRE_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        return square(index_select(in[0], 1, ids({3, 3, 0}, {3})));
      },
      {x});
  const Tensor base = leaf({2, 4, 3}, gen), src = leaf({2, 3, 3}, gen);
  STRATA_REQUIRE_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        return square(index_add(in[0], 1, ids({1, 1, 2}, {3}), in[1]));
      },
      {base, src});
  const Tensor gidx = ids({0, 3, 3, 1, 2, 0, 0, 0, 1, 2, 3, 3}, {2, 2, 3});
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return square(gather(in[0], 1, gidx)); }, {x});
  STRATA_REQUIRE_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        return square(gather(in[0].transpose(0, 2), 1, ids({0, 1, 3}, {1, 3, 1})));
      },
      {x});
  const Tensor big_src = leaf({2, 3, 3}, gen);
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return square(scatter_add(in[0], 1, gidx, in[1])); },
                           {base, big_src});
}

TEST_CASE("topk picks the largest values, lower index first on ties", "[ops][indexing]") {
  const Tensor x = values({3, 1, 3, 0, 0, 7, 2, 7}, {2, 4});
  const TopK t = topk(x, 2);
  CHECK(t.values.to_vector<double>() == std::vector<double>{3, 3, 7, 7});
  CHECK(t.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2, 1, 3});
  CHECK(!t.indices.requires_grad());
  const TopK n = topk(values({1, NAN, 5}, {3}), 2);
  CHECK(n.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2});  // NaN counts as largest
  Generator gen(81);
  const Tensor big = Tensor::randn({3, 1000}, gen);
  const auto v = topk(big, 10).values.to_vector<float>();
  for (int r = 0; r < 3; ++r)
    for (int j = 1; j < 10; ++j) CHECK(v[std::size_t(r * 10 + j - 1)] >= v[std::size_t(r * 10 + j)]);
  CHECK(v[0] == sum(topk(big.slice(0, 0, 1), 1).values).item<float>());
}

TEST_CASE("topk gradcheck and errors", "[ops][indexing][gradcheck]") {
  Generator gen(82);
  const Tensor x = leaf({3, 6}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return square(topk(in[0], 3).values); }, {x});
  REQUIRE_THROWS_WITH(topk(x, 7), Catch::Contains("k = 7 is outside [1, 6]"));
  REQUIRE_THROWS_AS(topk(x, 0), ValueError);
  REQUIRE_THROWS_WITH(gather(x, 1, ids({6}, {1, 1})), Catch::Contains("gather: index[0, 0] = 6 is outside [0, 6)"));
  REQUIRE_THROWS_WITH(gather(x, 1, ids({0, 0, 0, 0}, {4, 1})), Catch::Contains("does not fit x [3, 6] outside dim 1"));
  REQUIRE_THROWS_AS(index_add(x, 0, ids({0}, {1}), Tensor::zeros({2, 6}, DType::f64)), ShapeError);
}
