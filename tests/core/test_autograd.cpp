#include <memory>

#include "catch.h"
#include "helpers.h"
#include "strata/autograd.h"
#include "strata/error.h"

using namespace strata;
using strata::test::values;

TEST_CASE("parameter gradients accumulate across backward calls", "[autograd]") {
  Tensor w = values({1, 2, 3}, {3}).requires_grad_();
  sum(mul(w, w)).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{2, 4, 6});
  sum(mul(w, w)).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{4, 8, 12});
  w.grad().zero_();
  sum(scale(w, 3.0)).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{3, 3, 3});
}

TEST_CASE("a tensor used twice gets the sum of both paths", "[autograd]") {
  Tensor x = values({0.5, -1.0}, {2}).requires_grad_();
  const Tensor y = add(exp(x), mul(x, x));  // dy/dx = exp(x) + 2x
  sum(y).backward();
  const auto g = x.grad().to_vector<double>();
  CHECK(g[0] == Approx(std::exp(0.5) + 1.0));
  CHECK(g[1] == Approx(std::exp(-1.0) - 2.0));
}

TEST_CASE("on_leaf_ready reports each leaf once, when its gradient is complete", "[autograd]") {
  Tensor shared = values({0.5, -1.0}, {2}).requires_grad_();  // used by three ops
  Tensor late = values({2.0, 3.0}, {2}).requires_grad_();     // used once, near the loss
  Tensor unused = values({1.0}, {1}).requires_grad_();
  const Tensor h = mul(exp(shared), shared);                  // shared twice here
  const Tensor y = mul(add(h, shared), late);                 // and once more
  const Tensor loss = sum(y);
  std::vector<std::pair<const TensorImpl*, std::vector<double>>> seen;  // the leaf and its grad when reported
  const autograd::LeafReadyFn hook = [&](const TensorImpl& leaf) {
    const Tensor& t = &leaf == shared.impl() ? shared : late;
    seen.emplace_back(&leaf, t.grad().to_vector<double>());
  };
  const Tensor seed;
  autograd::backward(std::span<const Tensor>(&loss, 1), std::span<const Tensor>(&seed, 1), false, hook);
  REQUIRE(seen.size() == 2);  // the unused leaf is never reported
  CHECK(seen[0].first == late.impl());  // the leaf nearest the loss first
  CHECK(seen[1].first == shared.impl());
  // Reported with their final values: what .grad holds after the whole backward.
  CHECK(seen[0].second == late.grad().to_vector<double>());
  CHECK(seen[1].second == shared.grad().to_vector<double>());
  CHECK_FALSE(unused.grad().defined());
}

TEST_CASE("gradients of a leaf are not aliased with each other", "[autograd]") {
  // add's backward hands the same upstream tensor to both inputs
  Tensor a = values({1, 2}, {2}).requires_grad_();
  Tensor b = values({3, 4}, {2}).requires_grad_();
  sum(add(a, b)).backward();
  a.grad().mul_(10.0);
  CHECK(b.grad().to_vector<double>() == std::vector<double>{1, 1});
}

TEST_CASE("no-grad mode records nothing", "[autograd]") {
  Tensor x = values({1, 2}, {2}).requires_grad_();
  Tensor y;
  {
    autograd::NoGradGuard guard;
    CHECK(!autograd::grad_enabled());
    y = exp(x);
  }
  CHECK(autograd::grad_enabled());
  CHECK(!y.requires_grad());
  CHECK(y.grad_fn() == nullptr);
  REQUIRE_THROWS_WITH(sum(y).backward(), Catch::Contains("does not require grad"));
}

TEST_CASE("backward twice needs retain_graph", "[autograd][errors]") {
  Tensor x = values({1, 2}, {2}).requires_grad_();
  const Tensor loss = sum(exp(x));
  loss.backward(Tensor(), /*retain_graph=*/true);
  loss.backward();
  CHECK(x.grad().to_vector<double>()[0] == Approx(2 * std::exp(1.0)));
  REQUIRE_THROWS_WITH(loss.backward(), Catch::Contains("retain_graph"));
}

TEST_CASE("backward of a non-scalar needs a gradient", "[autograd][errors]") {
  Tensor x = values({1, 2}, {2}).requires_grad_();
  const Tensor y = scale(x, 3.0);
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("is not a scalar"));
  REQUIRE_THROWS_WITH(y.backward(values({1}, {1})), Catch::Contains("does not match"));
  y.backward(values({1, 10}, {2}));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{3, 30});
}

TEST_CASE("modifying a saved tensor before backward is detected", "[autograd][errors]") {
  Tensor w = values({1, 2}, {2}).requires_grad_();
  Tensor x = values({3, 4}, {2});
  const Tensor loss = sum(mul(w, x));
  x.fill_(0.0);  // x was saved by mul for w's gradient
  REQUIRE_THROWS_WITH(loss.backward(), Catch::Contains("modified in place after it was saved"));
  // an optimizer step on w before backward is caught the same way
  const Tensor loss2 = sum(mul(w, w));
  {
    autograd::NoGradGuard guard;
    w.mul_(0.5);
  }
  REQUIRE_THROWS_AS(loss2.backward(), AutogradError);
}

TEST_CASE("a custom op with a wrong gradient shape is named in the error", "[autograd][errors]") {
  Tensor x = values({1, 2, 3}, {3}).requires_grad_();
  Tensor y = scale(x.detach(), 2.0);
  autograd::record("bad_op", {x}, {y},
                   [](const autograd::BackwardArgs&) { return std::vector<Tensor>{Tensor::zeros({2}, DType::f64)}; });
  REQUIRE_THROWS_WITH(sum(y).backward(), Catch::Contains("backward of 'bad_op' returned a gradient of shape [2]"));
}

TEST_CASE("record refuses outputs that already have history", "[autograd][errors]") {
  Tensor x = values({1}, {1}).requires_grad_();
  REQUIRE_THROWS_AS(autograd::record("identity", {x}, {x},
                                     [](const autograd::BackwardArgs& a) { return std::vector<Tensor>{a.grad()}; }),
                    AutogradError);
}

TEST_CASE("unused outputs of a multi-output op get zero gradient", "[autograd]") {
  Tensor x = values({1, 2, 3, 4}, {4}).requires_grad_();
  const auto parts = split(x, {1, 3}, 0);
  sum(scale(parts[1], 2.0)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 2, 2, 2});
}

TEST_CASE("a branch that does not reach the loss does not block other gradients", "[autograd]") {
  Tensor x = values({1, 2}, {2}).requires_grad_();
  const Tensor h = exp(x);
  const auto parts = split(h, {1, 1}, 0);     // parts[0] is never used
  const Tensor loss = sum(mul(parts[1], h));  // h1 h0 + h1 h1
  loss.backward();
  const auto g = x.grad().to_vector<double>();
  CHECK(g[0] == Approx(std::exp(3.0)));                      // h1 h0
  CHECK(g[1] == Approx(std::exp(3.0) + 2 * std::exp(4.0)));  // h0 h1 + 2 h1^2
}

TEST_CASE("deep graphs do not overflow the stack", "[autograd]") {
  Tensor x = values({1}, {1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 500000; ++i) y = add(y, 1e-7);
  sum(y).backward();
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("backward frees what the graph saved", "[autograd]") {
  auto sentinel = std::make_shared<int>(0);
  Tensor x = values({1}, {1}).requires_grad_();
  Tensor y = scale(x.detach(), 1.0);
  autograd::record("holder", {x}, {y},
                   [sentinel](const autograd::BackwardArgs& a) { return std::vector<Tensor>{a.grad()}; });
  CHECK(sentinel.use_count() == 2);
  sum(y).backward();
  CHECK(sentinel.use_count() == 1);
}

TEST_CASE("backward skips inputs that need no gradient", "[autograd]") {
  Tensor w = values({1, 2, 3, 4}, {2, 2}).requires_grad_();
  const Tensor x = values({1, 0, 0, 1}, {2, 2});
  bool asked_for_x = true;
  Tensor y = matmul(x.detach(), w.detach());
  autograd::record("probe", {x, w}, {y}, [&](const autograd::BackwardArgs& a) {
    asked_for_x = a.needs(0);
    return std::vector<Tensor>{Tensor(), a.grad()};
  });
  sum(y).backward();
  CHECK(!asked_for_x);
  CHECK(!x.grad().defined());
  CHECK(w.grad().defined());
}

TEST_CASE("set_grad stores a contiguous detached copy that backward can accumulate into", "[autograd]") {
  Tensor w = values({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  w.set_grad(Tensor::zeros({3, 2}, DType::f64).transpose(0, 1));
  CHECK(w.grad().is_contiguous());
  sum(w).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>(6, 1.0));
  REQUIRE_THROWS_AS(w.set_grad(Tensor::zeros({2, 3})), ShapeError);  // f32 for an f64 tensor
}
