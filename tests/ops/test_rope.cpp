// Rotary position embedding: the formula written out here, both channel layouts, partial
// rotation, positions as relative offsets, decoding offsets, gradients and errors.
#include <cmath>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;

namespace {

// The rotation written element by element in f64.
Tensor reference_rope(const Tensor& x, const RopeOptions& o) {
  const std::int64_t B = x.size(0), T = x.size(1), H = x.size(2), d = x.size(3);
  const std::int64_t rot = o.rotary_dim ? o.rotary_dim : d, half = rot / 2;
  const std::vector<double> in = x.to_vector<double>();
  std::vector<double> out = in;
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t c = 0; c < half; ++c) {
          const double inv_freq = o.inv_freq.empty() ? 1.0 / std::pow(o.theta, 2.0 * double(c) / double(rot))
                                                     : o.inv_freq[std::size_t(c)];
          const double angle = double(o.position_offset + t) * inv_freq;
          const double cs = o.scale * std::cos(angle), sn = o.scale * std::sin(angle);
          const std::int64_t base = ((b * T + t) * H + h) * d;
          const std::int64_t i = base + (o.interleaved ? 2 * c : c), j = i + (o.interleaved ? 1 : half);
          out[i] = in[i] * cs - in[j] * sn;
          out[j] = in[j] * cs + in[i] * sn;
        }
  return Tensor::from_vector(out, x.shape());
}

std::vector<RopeOptions> variants() {
  std::vector<RopeOptions> v(6);
  // Scaled RoPE: explicit per-pair frequencies and a factor on cos and sin (YaRN, LongRoPE).
  v[4].inv_freq = {1.0, 0.3, 0.02, 1e-4};
  v[4].scale = 1.25;
  v[4].position_offset = 40;
  v[5].rotary_dim = 4;
  v[5].interleaved = true;
  v[5].inv_freq = {0.7, 0.05};
  v[5].scale = 0.8;
  v[1].interleaved = true;
  v[2].rotary_dim = 4;  // half of head_dim 8 (partial rotary)
  v[2].theta = 1e6;
  v[3].rotary_dim = 6;
  v[3].interleaved = true;
  v[3].position_offset = 100;
  return v;
}

}  // namespace

TEST_CASE("rope equals the rotation written out, in every layout", "[ops][rope]") {
  Generator gen(80);
  const Tensor x = Tensor::randn({2, 13, 3, 8}, gen, DType::f64);
  for (const RopeOptions& o : variants()) {
    STRATA_REQUIRE_CLOSE(rope(x, o), reference_rope(x, o), 1e-12, 1e-12);
    STRATA_REQUIRE_CLOSE(rope(x.to(DType::f32), o), reference_rope(x, o), 2e-5, 1e-5);
  }
}

TEST_CASE("rope gradient checks in f64", "[ops][rope][gradcheck]") {
  Generator gen(81);
  const Tensor x = leaf({2, 5, 2, 8}, gen);
  for (const RopeOptions& o : variants())
    STRATA_REQUIRE_GRADCHECK([o](const std::vector<Tensor>& in) { return rope(in[0], o); }, {x});
  // and on a strided view (a head range of a fused projection)
  const Tensor fused = leaf({2, 5, 6, 8}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return rope(split(in[0], {2, 4}, 2)[1]); }, {fused});
}

TEST_CASE("rope makes q . k depend only on the distance between positions", "[ops][rope]") {
  Generator gen(82);
  const Tensor q = Tensor::randn({1, 1, 1, 16}, gen, DType::f64), k = Tensor::randn({1, 1, 1, 16}, gen, DType::f64);
  auto score = [&](std::int64_t pq, std::int64_t pk) {
    RopeOptions a, b;
    a.position_offset = pq;
    b.position_offset = pk;
    return sum(mul(rope(q, a), rope(k, b))).item();
  };
  CHECK(score(7, 3) == Approx(score(104, 100)).epsilon(1e-10));
  CHECK(score(0, 0) == Approx(sum(mul(q, k)).item()).epsilon(1e-12));
  CHECK(score(7, 3) != Approx(score(7, 4)));
}

TEST_CASE("rope with a position offset continues the sequence (decoding)", "[ops][rope]") {
  Generator gen(83);
  const Tensor x = Tensor::randn({2, 10, 2, 8}, gen, DType::f64);
  RopeOptions tail;
  tail.position_offset = 6;
  STRATA_REQUIRE_CLOSE(rope(slice(x, 1, 6, 10), tail), slice(rope(x), 1, 6, 10), 1e-13, 1e-13);
}

TEST_CASE("rope: bad arguments are clear errors", "[ops][rope][errors]") {
  const Tensor x = Tensor::zeros({1, 2, 2, 8});
  RopeOptions o;
  o.rotary_dim = 5;
  CHECK_THROWS_WITH(rope(x, o), Catch::Contains("must be even"));
  o.rotary_dim = 10;
  CHECK_THROWS_AS(rope(x, o), ValueError);
  o = {};
  o.theta = 0.5;
  CHECK_THROWS_AS(rope(x, o), ValueError);
  o = {};
  o.position_offset = -1;
  CHECK_THROWS_AS(rope(x, o), ValueError);
  o = {};
  o.inv_freq = {1.0, 0.5};  // 4 pairs needed
  CHECK_THROWS_WITH(rope(x, o), Catch::Contains("2 inverse frequencies for rotary_dim = 8 (needs one per channel pair: 4)"));
  o.inv_freq = {1.0, 0.5, 0.0, 0.1};
  CHECK_THROWS_WITH(rope(x, o), Catch::Contains("must be a finite number > 0"));
  o = {};
  o.scale = 0;
  CHECK_THROWS_WITH(rope(x, o), Catch::Contains("scale = 0"));
  CHECK_THROWS_AS(rope(Tensor::zeros({2, 2, 8})), ShapeError);
}
