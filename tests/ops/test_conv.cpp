// causal_conv1d against the convolution written with slices, f64 gradient checks of all
// four inputs, state passing between chunks, and errors.
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;

namespace {

// sum over taps of weight[:, j] * xp[:, j : j + T], xp = [initial (or zeros); x]
Tensor reference_conv(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& initial) {
  const std::int64_t T = x.size(1), K = w.size(1);
  const Tensor start = initial.defined() ? initial : Tensor::zeros({x.size(0), K - 1, x.size(2)}, x.dtype());
  const Tensor xp = concat({start, x}, 1);
  Tensor y = bias.defined() ? bias : Tensor::zeros({x.size(2)}, x.dtype());
  for (std::int64_t j = 0; j < K; ++j) y = add(y, mul(slice(xp, 1, j, j + T), reshape(slice(w, 1, j, j + 1), {-1})));
  return y;
}

}  // namespace

TEST_CASE("causal_conv1d equals the convolution written with slices", "[ops][conv]") {
  Generator gen(60);
  for (const auto& [T, K] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 4}, {3, 4}, {150, 4}, {9, 1}, {20, 7}}) {
    INFO("T " << T << ", K " << K);
    const Tensor x = Tensor::randn({2, T, 13}, gen, DType::f64), w = Tensor::randn({13, K}, gen, DType::f64);
    const Tensor b = Tensor::randn({13}, gen, DType::f64), s = Tensor::randn({2, K - 1, 13}, gen, DType::f64);
    STRATA_REQUIRE_CLOSE(causal_conv1d(x, w, b, s), reference_conv(x, w, b, s), 1e-13, 1e-13);
    STRATA_REQUIRE_CLOSE(causal_conv1d(x, w), reference_conv(x, w, Tensor(), Tensor()), 1e-13, 1e-13);
    STRATA_REQUIRE_CLOSE(causal_conv1d(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), s.to(DType::f32)),
                         reference_conv(x, w, b, s), 1e-5, 1e-5);
  }
}

TEST_CASE("causal_conv1d gradient checks in f64 (x, weight, bias, initial state)", "[ops][conv][gradcheck]") {
  Generator gen(61);
  for (std::int64_t T : {2, 5, 70}) {
    INFO("T " << T);
    const Tensor x = leaf({2, T, 3}, gen), w = leaf({3, 4}, gen), b = leaf({3}, gen), s = leaf({2, 3, 3}, gen);
    STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return causal_conv1d(in[0], in[1], in[2], in[3]); },
                             {x, w, b, s});
    STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return causal_conv1d(in[0], in[1]); }, {x, w});
  }
}

TEST_CASE("causal_conv1d: chunks with state passing equal one long sequence", "[ops][conv]") {
  Generator gen(62);
  const Tensor x = Tensor::randn({3, 40, 5}, gen, DType::f64), w = Tensor::randn({5, 4}, gen, DType::f64);
  const Tensor full = causal_conv1d(x, w);
  Tensor state;  // zeros at the start
  std::vector<Tensor> parts;
  for (const auto& [t0, t1] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 2}, {2, 3}, {3, 20}, {20, 40}}) {
    const Tensor chunk = slice(x, 1, t0, t1);
    parts.push_back(causal_conv1d(chunk, w, Tensor(), state));
    state = causal_conv1d_final_state(chunk, state, 4);
  }
  STRATA_REQUIRE_CLOSE(concat(parts, 1), full, 1e-14, 1e-14);
  STRATA_REQUIRE_CLOSE(state, slice(x, 1, 37, 40), 0.0, 0.0);
}

TEST_CASE("causal_conv1d: bad shapes are clear errors", "[ops][conv][errors]") {
  const Tensor x = Tensor::zeros({2, 5, 3});
  CHECK_THROWS_AS(causal_conv1d(x, Tensor::zeros({4, 3})), ShapeError);
  CHECK_THROWS_AS(causal_conv1d(x, Tensor::zeros({3, 0})), ShapeError);
  CHECK_THROWS_AS(causal_conv1d(x, Tensor::zeros({3, 4}), Tensor::zeros({4})), ShapeError);
  CHECK_THROWS_WITH(causal_conv1d(x, Tensor::zeros({3, 4}), Tensor(), Tensor::zeros({2, 2, 3})),
                    Catch::Contains("the last K-1 inputs"));
  CHECK_THROWS_AS(causal_conv1d(Tensor::zeros({5, 3}), Tensor::zeros({3, 4})), ShapeError);
  CHECK_THROWS_AS(causal_conv1d(x, Tensor::zeros({3, 4}, DType::f64)), DTypeError);
}
