#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;
using strata::test::values;

namespace {
const Tensor kTargets = Tensor::from_vector(std::vector<std::int64_t>{2, -100, 0}, {3});
Tensor logits3() { return values({1, 2, 3, 5, 5, 5, 0, 0, 0}, {3, 3}); }
}  // namespace

TEST_CASE("cross-entropy with an ignored row (hand-computed)", "[ops][cross_entropy]") {
  const double row0 = std::log(1 + std::exp(-1.0) + std::exp(-2.0));  // lse([1,2,3]) - 3
  const double row2 = std::log(3.0);
  Tensor logits = logits3().requires_grad_();
  const Tensor loss = cross_entropy(logits, kTargets);
  CHECK(loss.rank() == 0);
  CHECK(loss.item() == Approx((row0 + row2) / 2).epsilon(1e-14));
  loss.backward();
  const auto g = logits.grad().to_vector<double>();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(g[0] == Approx(std::exp(1.0) / z / 2));
  CHECK(g[2] == Approx((std::exp(3.0) / z - 1) / 2));
  for (int i = 3; i < 6; ++i) CHECK(g[std::size_t(i)] == 0.0);  // the ignored row
  CHECK(g[6] == Approx((1.0 / 3 - 1) / 2));
  CHECK(g[7] == Approx(1.0 / 6));

  CrossEntropyOptions sum_opts;
  sum_opts.reduction = Reduction::sum;
  CHECK(cross_entropy(logits3(), kTargets, sum_opts).item() == Approx(row0 + row2));
  CrossEntropyOptions none;
  none.reduction = Reduction::none;
  const auto per_row = cross_entropy(logits3(), kTargets, none).to_vector<double>();
  CHECK(per_row[0] == Approx(row0));
  CHECK(per_row[1] == 0.0);
  CHECK(per_row[2] == Approx(row2));
  CrossEntropyOptions custom;
  custom.ignore_index = 0;  // now row 2 is ignored and row 1's -100 is out of range
  REQUIRE_THROWS_WITH(cross_entropy(logits3(), kTargets, custom),
                      Catch::Contains("targets[1] = -100 is outside [0, 3) and is not the ignore_index (0)"));
}

TEST_CASE("cross-entropy with every target ignored is 0 with zero gradient", "[ops][cross_entropy]") {
  Tensor logits = logits3().requires_grad_();
  const Tensor none_counted = Tensor::full({3}, -100, DType::i64);
  const Tensor loss = cross_entropy(logits, none_counted);
  CHECK(loss.item() == 0.0);
  loss.backward();
  for (double v : logits.grad().to_vector<double>()) CHECK(v == 0.0);
}

TEST_CASE("label smoothing equals cross-entropy against the smoothed distribution", "[ops][cross_entropy]") {
  Generator gen(42);
  const Tensor logits = Tensor::randn({6, 11}, gen, DType::f64);
  const Tensor targets = Tensor::randint({6}, 0, 11, gen);
  CrossEntropyOptions opts;
  opts.label_smoothing = 0.1;
  // -sum_i q_i log p_i with q = 0.9 onehot + 0.1 / 11
  const auto lp = log_softmax(logits).to_vector<double>();
  const auto t = targets.to_vector<std::int64_t>();
  double want = 0;
  for (int r = 0; r < 6; ++r)
    for (int i = 0; i < 11; ++i)
      want -= ((i == t[std::size_t(r)] ? 0.9 : 0.0) + 0.1 / 11) * lp[std::size_t(r * 11 + i)];
  CHECK(cross_entropy(logits, targets, opts).item() == Approx(want / 6).epsilon(1e-12));
}

TEST_CASE("cross-entropy gradchecks for every reduction, smoothing and ignore", "[ops][cross_entropy][gradcheck]") {
  Generator gen(43);
  const Tensor logits = leaf({2, 3, 5}, gen, 2.0);
  const Tensor targets = Tensor::from_vector(std::vector<std::int64_t>{0, 4, -100, 2, 2, 1}, {2, 3});
  for (Reduction red : {Reduction::mean, Reduction::sum, Reduction::none})
    for (double smoothing : {0.0, 0.2}) {
      CrossEntropyOptions opts;
      opts.reduction = red;
      opts.label_smoothing = smoothing;
      STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], targets, opts); },
                               {logits});
    }
}

TEST_CASE("f32 cross-entropy over a large vocabulary agrees with f64", "[ops][cross_entropy]") {
  Generator gen(44);
  const Tensor logits = Tensor::randn({8, 50257}, gen, DType::f64, 0.0, 4.0);
  const Tensor targets = Tensor::randint({8}, 0, 50257, gen);
  Tensor l64 = logits.detach().requires_grad_();
  Tensor l32 = logits.to(DType::f32).requires_grad_();
  const Tensor a = cross_entropy(l64, targets), b = cross_entropy(l32, targets);
  CHECK(b.item() == Approx(a.item()).epsilon(1e-6));
  a.backward();
  b.backward();
  STRATA_REQUIRE_CLOSE(l32.grad(), l64.grad(), 1e-8, 1e-4);
}

TEST_CASE("cross-entropy input errors", "[ops][cross_entropy][errors]") {
  const Tensor logits = Tensor::zeros({4, 10});
  REQUIRE_THROWS_WITH(cross_entropy(logits, Tensor::from_vector(std::vector<std::int64_t>{1, 2, 10, 3}, {4})),
                      Catch::Contains("targets[2] = 10 is outside [0, 10)"));
  REQUIRE_THROWS_AS(cross_entropy(logits, Tensor::zeros({4})), DTypeError);
  REQUIRE_THROWS_WITH(cross_entropy(logits, Tensor::zeros({5}, DType::i64)),
                      Catch::Contains("logits [4, 10] and targets [5] do not match"));
  CrossEntropyOptions bad;
  bad.label_smoothing = 1.0;
  REQUIRE_THROWS_AS(cross_entropy(logits, Tensor::zeros({4}, DType::i64), bad), ValueError);
}
