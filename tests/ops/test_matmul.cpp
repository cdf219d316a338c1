#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;

namespace {
// C = op(A) op(B) for A, B given as [M, K]-ish row-major matrices, plain triple loop
Tensor reference_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const Tensor a2 = ta ? a.transpose(-2, -1).contiguous() : a.contiguous();
  const Tensor b2 = tb ? b.transpose(-2, -1).contiguous() : b.contiguous();
  const auto M = a2.size(-2), K = a2.size(-1), N = b2.size(-1);
  const auto va = a2.to_vector<double>(), vb = b2.to_vector<double>();
  std::vector<double> c(std::size_t(M * N), 0.0);
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t k = 0; k < K; ++k)
      for (std::int64_t j = 0; j < N; ++j)
        c[std::size_t(i * N + j)] += va[std::size_t(i * K + k)] * vb[std::size_t(k * N + j)];
  return Tensor::from_vector(c, {M, N});
}
}  // namespace

TEST_CASE("matmul matches a triple loop for every transpose combination", "[ops][matmul]") {
  Generator gen(30);
  for (DType dt : {DType::f32, DType::f64})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("dtype " << dtype_name(dt) << " ta " << ta << " tb " << tb);
        const Tensor a = Tensor::randn(ta ? Shape{7, 5} : Shape{5, 7}, gen, dt);
        const Tensor b = Tensor::randn(tb ? Shape{3, 7} : Shape{7, 3}, gen, dt);
        STRATA_REQUIRE_CLOSE(matmul(a, b, ta, tb), reference_matmul(a, b, ta, tb), 1e-5, 1e-5);
        // transposed views are read in place and give the same result
        STRATA_REQUIRE_CLOSE(matmul(a.transpose(0, 1).contiguous().transpose(0, 1), b, ta, tb),
                             reference_matmul(a, b, ta, tb), 1e-5, 1e-5);
      }
}

TEST_CASE("batched matmul broadcasts batch dims", "[ops][matmul]") {
  Generator gen(31);
  const Tensor a = Tensor::randn({2, 3, 4, 5}, gen, DType::f64);
  const Tensor b = Tensor::randn({3, 5, 6}, gen, DType::f64);
  const Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 3, 4, 6});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) {
      const Tensor ai = a.slice(0, i, i + 1).slice(1, j, j + 1).reshape({4, 5});
      const Tensor bj = b.slice(0, j, j + 1).reshape({5, 6});
      STRATA_REQUIRE_CLOSE(c.slice(0, i, i + 1).slice(1, j, j + 1).reshape({4, 6}),
                           reference_matmul(ai, bj, false, false), 1e-12, 1e-12);
    }
  // a shared 2-D weight folds the batch into one product
  const Tensor w = Tensor::randn({5, 2}, gen, DType::f64);
  const Tensor y = matmul(a, w);
  REQUIRE(y.shape() == Shape{2, 3, 4, 2});
  STRATA_REQUIRE_CLOSE(y.reshape({24, 2}), reference_matmul(a.reshape({24, 5}), w, false, false), 1e-12, 1e-12);
  // many small products (threaded over the batch)
  const Tensor p = Tensor::randn({64, 8, 8}, gen, DType::f64), q = Tensor::randn({64, 8, 8}, gen, DType::f64);
  const Tensor pq = matmul(p, q, false, true);
  for (int i : {0, 17, 63})
    STRATA_REQUIRE_CLOSE(
        pq.slice(0, i, i + 1).reshape({8, 8}),
        reference_matmul(p.slice(0, i, i + 1).reshape({8, 8}), q.slice(0, i, i + 1).reshape({8, 8}), false, true),
        1e-12, 1e-12);
}

TEST_CASE("matmul gradcheck: transposes, batches, broadcasting, views", "[ops][matmul][gradcheck]") {
  Generator gen(32);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("ta " << ta << " tb " << tb);
      const Tensor a = leaf(ta ? Shape{2, 4, 3} : Shape{2, 3, 4}, gen);
      const Tensor b = leaf(tb ? Shape{5, 4} : Shape{4, 5}, gen);
      STRATA_REQUIRE_GRADCHECK([=](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); }, {a, b});
      const Tensor bb = leaf(tb ? Shape{2, 5, 4} : Shape{2, 4, 5}, gen);
      STRATA_REQUIRE_GRADCHECK([=](const std::vector<Tensor>& in) { return matmul(in[0], in[1], ta, tb); }, {a, bb});
    }
  const Tensor a = leaf({1, 3, 4}, gen), b = leaf({2, 4, 2}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
  const Tensor x = leaf({4, 3}, gen), y = leaf({4, 5}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0].transpose(0, 1), in[1]); }, {x, y});
}

TEST_CASE("linear equals x W^T + b and gradchecks", "[ops][matmul][gradcheck]") {
  Generator gen(33);
  const Tensor x = leaf({2, 3, 4}, gen), w = leaf({5, 4}, gen), b = leaf({5}, gen);
  STRATA_REQUIRE_CLOSE(linear(x, w, b), add(matmul(x, w, false, true), b), 1e-12, 1e-12);
  STRATA_REQUIRE_CLOSE(linear(x, w), matmul(x, w, false, true), 1e-12, 1e-12);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }, {x, w});
  // a weight stored transposed ([in, out] viewed as [out, in]) is read without a copy
  const Tensor wt = leaf({4, 5}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1].transpose(0, 1), in[2]); },
                           {x, wt, b});
}

TEST_CASE("matmul and linear shape errors name both shapes", "[ops][matmul][errors]") {
  const Tensor a = Tensor::zeros({4, 3}), b = Tensor::zeros({5, 2});
  REQUIRE_THROWS_WITH(matmul(a, b), Catch::Contains("a is [4, 3], b is [5, 2], so 3 != 5"));
  REQUIRE_THROWS_WITH(matmul(Tensor::zeros({3}), b), Catch::Contains("rank >= 2"));
  REQUIRE_THROWS_WITH(matmul(Tensor::zeros({2, 4, 3}), Tensor::zeros({3, 3, 2})),
                      Catch::Contains("matmul (batch dims): shapes [2] and [3] do not broadcast"));
  REQUIRE_THROWS_WITH(linear(Tensor::zeros({2, 3}), Tensor::zeros({5, 4})),
                      Catch::Contains("linear: x [2, 3] does not match weight [5, 4]"));
  REQUIRE_THROWS_WITH(linear(Tensor::zeros({2, 4}), Tensor::zeros({5, 4}), Tensor::zeros({4})),
                      Catch::Contains("bias [4] does not match weight [5, 4]"));
}

TEST_CASE("products with an empty inner or outer dim", "[ops][matmul]") {
  // leave a dirty block of the output's size in the cache: an empty inner dim must still write zeros
  { Tensor dirty = Tensor::full({3, 4}, 7.0); }
  CHECK(linear(Tensor::zeros({3, 0}), Tensor::zeros({4, 0})).to_vector<float>() == std::vector<float>(12, 0.0f));
  CHECK(linear(Tensor::zeros({3, 0}), Tensor::zeros({4, 0}), Tensor::ones({4})).to_vector<float>() ==
        std::vector<float>(12, 1.0f));
  Generator gen(34);
  Tensor a = leaf({2, 3, 0}, gen), b = leaf({0, 4}, gen);
  sum(matmul(a, b)).backward();
  CHECK(a.grad().shape() == Shape{2, 3, 0});
  CHECK(b.grad().shape() == Shape{0, 4});
  Tensor x = leaf({2, 5}, gen), w = leaf({0, 5}, gen);
  sum(linear(x, w)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>(10, 0.0));
}
