// The reduced-precision policies (strata/precision.h): linear and grouped_matmul compute
// their products from bf16- or TF32-rounded operands with f32 accumulation, forward and
// backward; the policy is scoped and per thread.
#include <cmath>
#include <thread>

#include "catch.h"
#include "helpers.h"
#include "strata/precision.h"

using namespace strata;
using strata::test::relative_error;

namespace {

struct Grads {
  Tensor out;
  std::vector<Tensor> grads;
};

// fn on f32 copies of the inputs (under `precision`), with the gradients of sum(out * w).
template <class Fn>
Grads run(Fn fn, const std::vector<Tensor>& inputs_f64, Precision precision, DType dtype) {
  const PrecisionGuard guard(precision);
  std::vector<Tensor> in;
  for (const Tensor& t : inputs_f64) in.push_back(t.to(dtype).detach().requires_grad_());
  Grads g;
  g.out = fn(in);
  Generator wg(9);
  sum(mul(g.out, Tensor::randn(g.out.shape(), wg, DType::f64).to(dtype))).backward();
  for (const Tensor& t : in) g.grads.push_back(t.grad());
  return g;
}

}  // namespace

TEST_CASE("precision: f32 by default, scoped by guards, per thread", "[precision]") {
  CHECK(compute_precision() == Precision::f32);
  {
    const PrecisionGuard outer(Precision::bf16);
    CHECK(compute_precision() == Precision::bf16);
    Precision other_thread = Precision::bf16;
    std::thread([&] { other_thread = compute_precision(); }).join();
    CHECK(other_thread == Precision::f32);
    {
      const PrecisionGuard inner(Precision::f32);
      CHECK(compute_precision() == Precision::f32);
    }
    CHECK(compute_precision() == Precision::bf16);
  }
  CHECK(compute_precision() == Precision::f32);
  CHECK(parse_precision("bf16") == Precision::bf16);
  REQUIRE_THROWS_WITH(parse_precision("fp8"), Catch::Contains("unknown precision 'fp8'"));
}

TEST_CASE("precision: bf16 linear and grouped_matmul are bf16-accurate, forward and backward, in f32", "[precision]") {
  Generator gen(21);
  const std::vector<Tensor> lin = {Tensor::randn({3, 37, 96}, gen, DType::f64), Tensor::randn({80, 96}, gen, DType::f64),
                                   Tensor::randn({80}, gen, DType::f64)};
  const auto linear_fn = [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); };
  const std::vector<Tensor> grouped = {Tensor::randn({45, 64}, gen, DType::f64),
                                       Tensor::randn({4, 72, 64}, gen, DType::f64),
                                       Tensor::from_vector(std::vector<std::int64_t>{20, 0, 11, 14}, {4})};
  const auto grouped_fn = [](const std::vector<Tensor>& x) { return grouped_matmul(x[0], x[1], x[2].detach()); };

  for (int which = 0; which < 2; ++which) {
    INFO((which == 0 ? "linear" : "grouped_matmul"));
    const auto& inputs = which == 0 ? lin : grouped;
    std::vector<Tensor> in = inputs;
    if (which == 1) in.pop_back();  // group sizes are not differentiable
    auto fn = [&](const std::vector<Tensor>& x) {
      std::vector<Tensor> all = x;
      if (which == 1) all.push_back(grouped[2]);
      return which == 0 ? linear_fn(all) : grouped_fn(all);
    };
    const Grads ref = run(fn, in, Precision::f32, DType::f64);
    const Grads f32 = run(fn, in, Precision::f32, DType::f32);
    const Grads bf16 = run(fn, in, Precision::bf16, DType::f32);
    CHECK(bf16.out.dtype() == DType::f32);
    const double e_f32 = relative_error(f32.out, ref.out), e_bf16 = relative_error(bf16.out, ref.out);
    INFO("output error: f32 " << e_f32 << ", bf16 " << e_bf16);
    CHECK(e_f32 < 1e-5);
    CHECK(e_bf16 < 1e-2);   // bf16 rounding of the operands (8 mantissa bits), f32 accumulation
    CHECK(e_bf16 > 1e-4);   // and the products really were in bf16
    for (std::size_t i = 0; i < ref.grads.size(); ++i) {
      INFO("gradient " << i);
      REQUIRE(bf16.grads[i].defined());
      CHECK(bf16.grads[i].dtype() == DType::f32);
      CHECK(relative_error(bf16.grads[i], ref.grads[i]) < 1e-2);
    }
    // tf32: 10 mantissa bits (2^-11 relative rounding), between f32's and bf16's errors
    const Grads tf32 = run(fn, in, Precision::tf32, DType::f32);
    const double e_tf32 = relative_error(tf32.out, ref.out);
    INFO("output error: tf32 " << e_tf32);
    CHECK(e_tf32 < 3e-3);
    CHECK(e_tf32 > 1e-5);  // the operands really were rounded
    CHECK(e_tf32 < e_bf16);
    for (std::size_t i = 0; i < ref.grads.size(); ++i) {
      INFO("tf32 gradient " << i);
      CHECK(tf32.grads[i].dtype() == DType::f32);
      const double e = relative_error(tf32.grads[i], ref.grads[i]);
      CHECK(e < 3e-3);
      if (!(which == 0 && i == 2)) CHECK(e > 1e-5);  // (the bias gradient is a sum, not a product)
    }
  }
  // f64 inputs ignore the bf16 policy (gradient checks stay exact)
  const PrecisionGuard bf16(Precision::bf16);
  CHECK(relative_error(linear(lin[0], lin[1], lin[2]), [&] {
          const PrecisionGuard f32(Precision::f32);
          return linear(lin[0], lin[1], lin[2]);
        }()) == 0.0);
}

namespace {

// v with an 11-bit significand (TF32: 10 stored mantissa bits), nearest-even: computed
// through frexp / nearbyint, independently of the kernels' bit manipulation.
float tf32_reference(float v) {
  int exponent = 0;
  const double mantissa = std::frexp(double(v), &exponent);  // v = mantissa 2^exponent, |mantissa| in [0.5, 1)
  return float(std::ldexp(std::nearbyint(std::ldexp(mantissa, 11)), exponent - 11));
}

Tensor rounded_to_tf32(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  for (float& x : v) x = tf32_reference(x);
  return Tensor::from_vector(v, t.shape());
}

}  // namespace

TEST_CASE("precision: tf32 products are f32 products of operands rounded to TF32, forward and backward",
          "[precision]") {
  CHECK(parse_precision("tf32") == Precision::tf32);
  CHECK(precision_name(Precision::tf32) == "tf32");
  Generator gen(5);
  const Tensor x = Tensor::randn({2, 19, 40}, gen), w = Tensor::randn({24, 40}, gen), b = Tensor::randn({24}, gen);
  const Tensor g = Tensor::randn({2, 19, 24}, gen);  // the output's gradient
  Tensor xt = x.detach().requires_grad_(), wt = w.detach().requires_grad_(), bt = b.detach().requires_grad_();
  {
    const PrecisionGuard tf32(Precision::tf32);
    sum(mul(linear(xt, wt, bt), g)).backward();
  }
  const PrecisionGuard tf32(Precision::tf32);
  const Tensor out_tf32 = linear(x, w, b);
  const PrecisionGuard strict(Precision::f32);
  const Tensor xr = rounded_to_tf32(x), wr = rounded_to_tf32(w), gr = rounded_to_tf32(g);
  CHECK(relative_error(out_tf32, linear(xr, wr, b)) < 1e-7);
  CHECK(relative_error(out_tf32, linear(x, w, b)) > 1e-5);
  // dx = g w, dw = g^T x, each from rounded operands; db = sum of g (no product)
  CHECK(relative_error(xt.grad(), matmul(gr, wr)) < 1e-7);
  CHECK(relative_error(wt.grad(), matmul(reshape(gr, {38, 24}), reshape(xr, {38, 40}), true, false)) < 1e-7);
  CHECK(relative_error(bt.grad(), sum(reshape(g, {38, 24}), {0})) < 1e-7);

  // grouped_matmul likewise (two groups, one empty)
  const Tensor gx = Tensor::randn({13, 16}, gen), gw = Tensor::randn({3, 8, 16}, gen);
  const Tensor sizes = Tensor::from_vector(std::vector<std::int64_t>{9, 0, 4}, {3});
  Tensor grouped_tf32;
  {
    const PrecisionGuard on(Precision::tf32);
    grouped_tf32 = grouped_matmul(gx, gw, sizes);
  }
  CHECK(relative_error(grouped_tf32, grouped_matmul(rounded_to_tf32(gx), rounded_to_tf32(gw), sizes)) < 1e-7);
  CHECK(relative_error(grouped_tf32, grouped_matmul(gx, gw, sizes)) > 1e-5);
}
