// MoE ops: the slot sort on a hand-made routing, and grouped_matmul against one matmul per
// expert slice (with empty experts), f64 gradient checks, and errors.
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;

TEST_CASE("sort_slots_by_expert groups slots by expert, stably, skipping dropped slots", "[ops][moe]") {
  // 4 tokens, top-2; token 2's second slot is dropped.
  const Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{2, 0, 0, 2, 1, -1, 2, 0}, {4, 2});
  const ExpertSlots s = sort_slots_by_expert(ids, 4);
  CHECK(s.counts.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 1, 3, 0});
  // expert 0: slots 1 (t0), 2 (t1), 7 (t3); expert 1: slot 4 (t2); expert 2: slots 0, 3, 6.
  CHECK(s.slot.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 7, 4, 0, 3, 6});
  CHECK(s.token.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 3, 2, 0, 1, 3});
  CHECK_THROWS_WITH(sort_slots_by_expert(Tensor::from_vector(std::vector<std::int64_t>{0, 4}, {1, 2}), 4),
                    Catch::Contains("expert_ids[0, 1] = 4 is outside [-1, 4)"));
  CHECK_THROWS_AS(sort_slots_by_expert(Tensor::zeros({2, 2}), 4), Error);
  CHECK_THROWS_AS(sort_slots_by_expert(Tensor::from_vector(std::vector<std::int64_t>{0}, {1}), 4), ShapeError);
}

TEST_CASE("grouped_matmul equals one matmul per expert slice", "[ops][moe]") {
  Generator gen(80);
  const std::vector<std::int64_t> sizes = {3, 0, 5, 1};  // expert 1 gets no rows
  const Tensor x = Tensor::randn({9, 6}, gen, DType::f64), w = Tensor::randn({4, 7, 6}, gen, DType::f64);
  const Tensor counts = Tensor::from_vector(sizes, {4});
  const Tensor y = grouped_matmul(x, w, counts);
  std::int64_t r = 0;
  for (std::int64_t e = 0; e < 4; ++e) {
    const Tensor expected = matmul(slice(x, 0, r, r + sizes[e]), reshape(slice(w, 0, e, e + 1), {7, 6}), false, true);
    STRATA_REQUIRE_CLOSE(slice(y, 0, r, r + sizes[e]), expected, 1e-12, 1e-12);
    r += sizes[e];
  }
  const Tensor y32 = grouped_matmul(x.to(DType::f32), w.to(DType::f32), counts);
  STRATA_REQUIRE_CLOSE(y32, y, 1e-4, 1e-4);
}

TEST_CASE("grouped_matmul gradient check in f64", "[ops][moe][gradcheck]") {
  Generator gen(81);
  const Tensor counts = Tensor::from_vector(std::vector<std::int64_t>{2, 0, 4}, {3});
  const Tensor x = leaf({6, 5}, gen), w = leaf({3, 4, 5}, gen);
  STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return grouped_matmul(in[0], in[1], counts); }, {x, w});
  // The empty expert's weight gradient is zero, not garbage.
  grouped_matmul(x, w, counts).backward(Tensor::ones({6, 4}, DType::f64));
  for (double v : slice(w.grad(), 0, 1, 2).contiguous().to_vector<double>()) REQUIRE(v == 0.0);
}

TEST_CASE("grouped_matmul: bad shapes and group sizes are clear errors", "[ops][moe][errors]") {
  const Tensor x = Tensor::zeros({5, 3}), w = Tensor::zeros({2, 4, 3});
  auto sizes = [](std::vector<std::int64_t> v) { return Tensor::from_vector(v, {std::int64_t(v.size())}); };
  CHECK_NOTHROW(grouped_matmul(x, w, sizes({2, 3})));
  CHECK_THROWS_WITH(grouped_matmul(x, w, sizes({2, 2})), Catch::Contains("group_sizes sum to 4, x has 5 rows"));
  CHECK_THROWS_WITH(grouped_matmul(x, w, sizes({6, -1})), Catch::Contains("is negative"));
  CHECK_THROWS_AS(grouped_matmul(x, w, sizes({5})), ShapeError);
  CHECK_THROWS_AS(grouped_matmul(x, Tensor::zeros({2, 4, 2}), sizes({2, 3})), ShapeError);
  CHECK_THROWS_AS(grouped_matmul(x, Tensor::zeros({2, 4, 3}, DType::f64), sizes({2, 3})), DTypeError);
}
