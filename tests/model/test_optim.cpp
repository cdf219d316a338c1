// AdamW, learning-rate schedules and gradient clipping against hand-computed values.
#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "strata/optim.h"

using namespace strata;

TEST_CASE("AdamW: two steps match the PyTorch formula, decay only where allowed", "[optim]") {
  Tensor a = Tensor::from_vector({1.0, -2.0}, {2}, DType::f64).requires_grad_();
  Tensor b = Tensor::from_vector({0.5}, {1}, DType::f64).requires_grad_();
  AdamWOptions o;
  o.beta1 = 0.9;
  o.beta2 = 0.99;
  o.eps = 1e-8;
  o.weight_decay = 0.1;
  AdamW opt({{"a", a, true}, {"b", b, false}}, o);
  const std::vector<std::vector<double>> grads_a{{0.3, -0.1}, {0.2, 0.4}};
  const std::vector<double> grads_b{1.0, -1.0};
  // Reference, written out.
  std::vector<double> pa{1.0, -2.0}, ma(2, 0), va(2, 0);
  double pb = 0.5, mb = 0, vb = 0;
  const double lr = 0.01;
  for (int t = 1; t <= 2; ++t) {
    a.set_grad(Tensor::from_vector(grads_a[std::size_t(t - 1)], {2}));
    b.set_grad(Tensor::from_vector({grads_b[std::size_t(t - 1)]}, {1}, DType::f64));
    opt.step(lr);
    const double c1 = 1 - std::pow(0.9, t), c2 = 1 - std::pow(0.99, t);
    for (int i = 0; i < 2; ++i) {
      const double g = grads_a[std::size_t(t - 1)][std::size_t(i)];
      pa[std::size_t(i)] *= 1 - lr * 0.1;
      ma[std::size_t(i)] = 0.9 * ma[std::size_t(i)] + 0.1 * g;
      va[std::size_t(i)] = 0.99 * va[std::size_t(i)] + 0.01 * g * g;
      pa[std::size_t(i)] -= lr * (ma[std::size_t(i)] / c1) / (std::sqrt(va[std::size_t(i)] / c2) + 1e-8);
    }
    const double g = grads_b[std::size_t(t - 1)];
    mb = 0.9 * mb + 0.1 * g;
    vb = 0.99 * vb + 0.01 * g * g;
    pb -= lr * (mb / c1) / (std::sqrt(vb / c2) + 1e-8);  // no decay
  }
  STRATA_REQUIRE_CLOSE(a, Tensor::from_vector(pa, {2}), 1e-12, 1e-12);
  STRATA_REQUIRE_CLOSE(b, Tensor::from_vector(std::vector<double>{pb}, {1}), 1e-12, 1e-12);
  CHECK(opt.steps_taken() == 2);
}

TEST_CASE("AdamW: a step makes tensors saved for backward stale", "[optim]") {
  Tensor w = Tensor::from_vector({1.0f, 2.0f}, {2}).requires_grad_();
  AdamW opt({{"w", w, true}}, {});
  const Tensor loss = sum(square(w));
  w.set_grad(Tensor::ones({2}));
  opt.step(0.1);
  CHECK_THROWS_AS(loss.backward(), AutogradError);
}

TEST_CASE("LR schedules: warmup, cosine, linear, constant", "[optim]") {
  LrSchedule s{1.0, 10, 111, 0.1, LrDecay::cosine};  // steps 0..110, decay over 10..110
  CHECK(s.at(0) == Approx(0.1));
  CHECK(s.at(9) == Approx(1.0));
  CHECK(s.at(10) == Approx(1.0));
  CHECK(s.at(60) == Approx(0.55));  // halfway: (1 + 0.1) / 2
  CHECK(s.at(110) == Approx(0.1));  // the last step reaches the floor
  s.decay = LrDecay::linear;
  CHECK(s.at(60) == Approx(0.55));
  CHECK(s.at(35) == Approx(1.0 - 0.9 * 0.25));
  s.decay = LrDecay::constant;
  CHECK(s.at(100) == Approx(1.0));
  CHECK_THROWS_AS(parse_lr_decay("step"), ValueError);
}

TEST_CASE("clip_grad_norm: scales to the max norm and reports the norm before", "[optim]") {
  Tensor a = Tensor::zeros({2}).requires_grad_(), b = Tensor::zeros({1}).requires_grad_();
  a.set_grad(Tensor::from_vector({3.0f, 0.0f}, {2}));
  b.set_grad(Tensor::from_vector({4.0f}, {1}));
  CHECK(clip_grad_norm({a, b}, 10.0) == Approx(5.0));
  CHECK(a.grad().to_vector<float>()[0] == Approx(3.0f));  // under the limit: unchanged
  CHECK(clip_grad_norm({a, b}, 1.0) == Approx(5.0));
  CHECK(a.grad().to_vector<float>()[0] == Approx(0.6f).epsilon(1e-5));
  CHECK(b.grad().to_vector<float>()[0] == Approx(0.8f).epsilon(1e-5));
}
