// The attention op: flash and naive against a plain reference composed here, f64
// gradient checks over every option, grouped-query sharing, in-place views, errors,
// and the memory each path needs.
#include <cmath>
#include <limits>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "strata/allocator.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;

namespace {

// k: [B, S, Hkv, d] -> [B, S, Hkv * G, d], each key/value head repeated for its G query heads.
Tensor repeat_heads(const Tensor& k, std::int64_t G) {
  const std::int64_t B = k.size(0), S = k.size(1), H = k.size(2), d = k.size(3);
  return reshape(expand(unsqueeze(k, 3), {B, S, H, G, d}).contiguous(), {B, S, H * G, d});
}

// softmax(scale * Q K^T + mask) V per head, from matmul and softmax, with K/V heads repeated.
Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, std::int64_t window,
                           std::int64_t query_offset) {
  const std::int64_t T = q.size(1), S = k.size(1), G = q.size(2) / k.size(2);
  const Tensor qh = q.permute({0, 2, 1, 3});                   // [B, H, T, d]
  const Tensor kh = repeat_heads(k, G).permute({0, 2, 1, 3});  // [B, H, S, d]
  const Tensor vh = repeat_heads(v, G).permute({0, 2, 1, 3});
  Tensor scores = scale(matmul(qh, kh, false, true), 1.0 / std::sqrt(double(q.size(3))));
  std::vector<double> mask(std::size_t(T * S), 0.0);
  for (std::int64_t i = 0; i < T; ++i)
    for (std::int64_t j = 0; j < S; ++j) {
      const std::int64_t pos = query_offset + i;
      if ((causal && j > pos) || (window > 0 && j <= pos - window))
        mask[std::size_t(i * S + j)] = -std::numeric_limits<double>::infinity();
    }
  scores = add(scores, Tensor::from_vector(mask, {T, S}).to(q.dtype()));
  return matmul(softmax(scores), vh).permute({0, 2, 1, 3}).contiguous();
}

struct Variant {
  const char* name;
  std::int64_t B, T, S, Hq, Hkv, d;
  bool causal;
  std::int64_t window;
};

const std::vector<Variant> kVariants = {
    {"MHA", 2, 9, 9, 2, 2, 4, true, 0},
    {"GQA", 2, 9, 9, 4, 2, 3, true, 0},
    {"MQA", 1, 9, 9, 3, 1, 4, true, 0},
    {"window 3", 2, 9, 9, 2, 1, 4, true, 3},
    {"non-causal", 2, 6, 11, 2, 2, 4, false, 0},
    {"decoding 2 queries after 7 keys", 2, 2, 9, 4, 2, 4, true, 0},
    {"across tiles (T = 140)", 1, 140, 140, 2, 1, 2, true, 0},
    {"across tiles with window 50", 1, 140, 140, 2, 1, 2, true, 50},
};

AttentionOptions options_for(const Variant& v, AttentionImpl impl) {
  AttentionOptions o;
  o.causal = v.causal;
  o.window = v.window;
  o.impl = impl;
  return o;
}

}  // namespace

TEST_CASE("attention: flash and naive equal the plain reference", "[ops][attention]") {
  Generator gen(70);
  for (const Variant& v : kVariants) {
    INFO(v.name);
    const Tensor q = Tensor::randn({v.B, v.T, v.Hq, v.d}, gen, DType::f64);
    const Tensor k = Tensor::randn({v.B, v.S, v.Hkv, v.d}, gen, DType::f64);
    const Tensor val = Tensor::randn({v.B, v.S, v.Hkv, v.d}, gen, DType::f64);
    const Tensor expected = reference_attention(q, k, val, v.causal, v.window, v.S - v.T);
    for (AttentionImpl impl : {AttentionImpl::flash, AttentionImpl::naive}) {
      STRATA_REQUIRE_CLOSE(attention(q, k, val, options_for(v, impl)), expected, 1e-12, 1e-12);
      const Tensor f32 = attention(q.to(DType::f32), k.to(DType::f32), val.to(DType::f32), options_for(v, impl));
      STRATA_REQUIRE_CLOSE(f32, expected, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("attention: f64 gradient checks of q, k and v for every option", "[ops][attention][gradcheck]") {
  Generator gen(71);
  for (const Variant& v : kVariants) {
    for (AttentionImpl impl : {AttentionImpl::flash, AttentionImpl::naive}) {
      INFO(v.name << (impl == AttentionImpl::flash ? " flash" : " naive"));
      const Tensor q = leaf({v.B, v.T, v.Hq, v.d}, gen), k = leaf({v.B, v.S, v.Hkv, v.d}, gen),
                   val = leaf({v.B, v.S, v.Hkv, v.d}, gen);
      const AttentionOptions o = options_for(v, impl);
      STRATA_REQUIRE_GRADCHECK([o](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], o); },
                               {q, k, val});
    }
  }
}

TEST_CASE("attention: explicit scale and query offset", "[ops][attention][gradcheck]") {
  Generator gen(72);
  const Tensor q = leaf({1, 4, 2, 3}, gen), k = leaf({1, 10, 2, 3}, gen), v = leaf({1, 10, 2, 3}, gen);
  AttentionOptions o;
  o.scale = 0.9;
  o.query_offset = 2;  // queries at positions 2..5 of 10 keys
  const Tensor rescaled = scale(q, 0.9 * std::sqrt(3.0));  // reference uses 1/sqrt(d)
  STRATA_REQUIRE_CLOSE(attention(q, k, v, o), reference_attention(rescaled, k, v, true, 0, 2), 1e-12, 1e-12);
  STRATA_REQUIRE_GRADCHECK([o](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], o); },
                           {q, k, v});
}

TEST_CASE("attention: GQA equals MHA over repeated key/value heads, gradients included", "[ops][attention]") {
  Generator gen(73);
  Tensor q = leaf({2, 70, 6, 4}, gen), k = leaf({2, 70, 2, 4}, gen), v = leaf({2, 70, 2, 4}, gen);
  const Tensor gqa = attention(q, k, v);
  STRATA_REQUIRE_CLOSE(gqa, attention(q, repeat_heads(k, 3), repeat_heads(v, 3)), 1e-13, 1e-13);
  // d/dk of the GQA output = the repeated heads' gradients summed back per group, which
  // the backward of repeat_heads (an expand) does on the reference side.
  const Tensor w = Tensor::randn(gqa.shape(), gen, DType::f64);
  auto gradients = [&](bool grouped) {
    for (Tensor* t : {&q, &k, &v}) t->set_grad(Tensor());
    const Tensor out = grouped ? attention(q, k, v) : attention(q, repeat_heads(k, 3), repeat_heads(v, 3));
    sum(mul(out, w)).backward();
    return std::vector<Tensor>{q.grad(), k.grad(), v.grad()};
  };
  const std::vector<Tensor> grouped = gradients(true), repeated = gradients(false);
  for (int i = 0; i < 3; ++i) STRATA_REQUIRE_CLOSE(grouped[i], repeated[i], 1e-12, 1e-12);
}

TEST_CASE("attention: strided views (fused qkv slices) equal contiguous inputs", "[ops][attention]") {
  Generator gen(74);
  const Tensor qkv = leaf({2, 33, 8, 4}, gen);  // heads: 4 q, 2 k, 2 v
  const std::vector<Tensor> parts = split(qkv, {4, 2, 2}, 2);
  const Tensor in_place = attention(parts[0], parts[1], parts[2]);
  const Tensor copied = attention(parts[0].contiguous(), parts[1].contiguous(), parts[2].contiguous());
  STRATA_REQUIRE_CLOSE(in_place, copied, 0.0, 0.0);
  STRATA_REQUIRE_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        const std::vector<Tensor> p = split(in[0], {4, 2, 2}, 2);
        return attention(p[0], p[1], p[2]);
      },
      {qkv});
}

TEST_CASE("attention: bad shapes and options are clear errors", "[ops][attention][errors]") {
  const Tensor q = Tensor::zeros({1, 4, 4, 8}), k = Tensor::zeros({1, 4, 2, 8});
  CHECK_THROWS_AS(attention(q, Tensor::zeros({1, 4, 3, 8}), Tensor::zeros({1, 4, 3, 8})), ShapeError);
  CHECK_THROWS_AS(attention(q, k, Tensor::zeros({1, 5, 2, 8})), ShapeError);
  CHECK_THROWS_AS(attention(q, Tensor::zeros({1, 4, 2, 7}), Tensor::zeros({1, 4, 2, 7})), ShapeError);
  CHECK_THROWS_AS(attention(Tensor::zeros({4, 4, 8}), k, k), ShapeError);
  CHECK_THROWS_AS(attention(q, k.to(DType::f64), k), DTypeError);
  AttentionOptions o;
  o.window = -1;
  CHECK_THROWS_AS(attention(q, k, k, o), ValueError);
  o.window = 2;
  o.causal = false;
  CHECK_THROWS_WITH(attention(q, k, k, o), Catch::Contains("needs causal"));
  o = {};
  o.query_offset = 1;  // 4 queries from position 1 need 5 keys
  CHECK_THROWS_WITH(attention(q, k, k, o), Catch::Contains("query_offset = 1"));
  CHECK_THROWS_AS(attention(Tensor::zeros({1, 5, 4, 8}), k, k), ValueError);  // more causal queries than keys
}

TEST_CASE("attention: flash memory grows linearly in T, naive quadratically", "[ops][attention][memory]") {
  // Peak bytes allocated by forward + backward beyond the inputs, at T and 2T.
  auto peak_extra = [](std::int64_t T, AttentionImpl impl) {
    Generator gen(75);
    const Tensor q = Tensor::randn({1, T, 2, 16}, gen).requires_grad_();
    const Tensor k = Tensor::randn({1, T, 2, 16}, gen).requires_grad_();
    const Tensor v = Tensor::randn({1, T, 2, 16}, gen).requires_grad_();
    Allocator& alloc = allocator_for(Device::cpu());
    const std::size_t before = alloc.stats().allocated_bytes;
    alloc.reset_peak();
    AttentionOptions o;
    o.impl = impl;
    sum(attention(q, k, v, o)).backward();
    return double(alloc.stats().peak_allocated_bytes - before);
  };
  const double flash_ratio = peak_extra(2048, AttentionImpl::flash) / peak_extra(1024, AttentionImpl::flash);
  const double naive_ratio = peak_extra(2048, AttentionImpl::naive) / peak_extra(1024, AttentionImpl::naive);
  INFO("flash " << flash_ratio << ", naive " << naive_ratio);
  CHECK(flash_ratio < 2.3);
  CHECK(naive_ratio > 3.5);
  CHECK(peak_extra(2048, AttentionImpl::naive) > 20 * peak_extra(2048, AttentionImpl::flash));
}

TEST_CASE("attention: causality and window locality across tiles", "[ops][attention]") {
  // Perturbing token t (in q, k and v) changes no output before t; with a window W, no
  // output from t + W on either.
  Generator gen(76);
  const std::int64_t T = 300, t = 130, W = 40;
  const Tensor q = Tensor::randn({1, T, 2, 8}, gen), k = Tensor::randn({1, T, 1, 8}, gen),
               v = Tensor::randn({1, T, 1, 8}, gen);
  auto perturbed = [&](const Tensor& x) {
    Tensor y = x.clone();
    slice(y, 1, t, t + 1).add_(Tensor::full({1, 1, x.size(2), 8}, 0.5));
    return y;
  };
  for (std::int64_t window : {std::int64_t(0), W}) {
    INFO("window " << window);
    AttentionOptions o;
    o.window = window;
    const Tensor base = attention(q, k, v, o), changed = attention(perturbed(q), perturbed(k), perturbed(v), o);
    STRATA_REQUIRE_CLOSE(slice(changed, 1, 0, t), slice(base, 1, 0, t), 0.0, 0.0);
    CHECK(!test::mismatch(slice(changed, 1, t, t + 1), slice(base, 1, t, t + 1), 1e-6).empty());
    if (window > 0) STRATA_REQUIRE_CLOSE(slice(changed, 1, t + W, T), slice(base, 1, t + W, T), 0.0, 0.0);
  }
}
