// Balance terms against values computed by hand for a tiny routing: every normalisation
// and scope of switch_aux, the global scope's accumulation over micro-batches and its
// reset after the optimizer step, z_loss, none; and that their gradients reach the
// router probabilities.
#include <cmath>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "moe_registry.h"
#include "strata/ops.h"

using namespace strata;

namespace {

// 4 tokens (2 sequences of 2), E = 3, k = 2.
//   token: probs              top-2 ids
//   0:     (0.5, 0.3, 0.2)    (0, 1)
//   1:     (0.6, 0.1, 0.3)    (0, 2)
//   2:     (0.2, 0.7, 0.1)    (1, 0)
//   3:     (0.1, 0.2, 0.7)    (2, 1)
Routing tiny_routing() {
  Routing r;
  r.n_experts = 3;
  r.top_k = 2;
  r.probs = Tensor::from_vector(std::vector<double>{0.5, 0.3, 0.2, 0.6, 0.1, 0.3, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7}, {4, 3})
                .requires_grad_();
  r.logits = log(r.probs);
  r.expert_ids = Tensor::from_vector(std::vector<std::int64_t>{0, 1, 0, 2, 1, 0, 2, 1}, {4, 2});
  r.seq_len = 2;
  return r;
}

double balance_loss(const std::vector<std::string>& keys, const Routing& r, const std::string& type = "switch_aux") {
  Generator gen(1);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 3, 2);
  auto b = test::make_moe_component<Balance>(ComponentKind::balance, type, keys, ctx);
  StepContext step(true);
  const Tensor loss = b->loss(r, step);
  return loss.defined() ? loss.item() : 0.0;
}

}  // namespace

TEST_CASE("switch_aux matches hand-computed values for every normalisation and scope", "[moe][balance]") {
  const Routing r = tiny_routing();
  // P = mean probs = (1.4, 1.3, 1.3) / 4 = (0.35, 0.325, 0.325).
  // top-1 counts (0: 2, 1: 1, 2: 1); all-slot counts (0: 3, 1: 3, 2: 2).
  const double P[3] = {0.35, 0.325, 0.325};
  auto dot = [&](const double f[3]) { return f[0] * P[0] + f[1] * P[1] + f[2] * P[2]; };
  const double f_switch[3] = {2 / 4.0, 1 / 4.0, 1 / 4.0};
  const double f_topk[3] = {3 / 8.0, 3 / 8.0, 2 / 8.0};
  const double f_hf[3] = {3 / 4.0, 3 / 4.0, 2 / 4.0};
  CHECK(balance_loss({"alpha=0.1", "normalization=\"switch\""}, r) == Approx(0.1 * 3 * dot(f_switch)));
  CHECK(balance_loss({"alpha=0.1", "normalization=\"topk\""}, r) == Approx(0.1 * 3 * dot(f_topk)));
  CHECK(balance_loss({"alpha=0.1", "normalization=\"hf\""}, r) == Approx(0.1 * 3 * dot(f_hf)));
  // Per sequence (topk): sequence 0 = tokens 0, 1: counts (2, 1, 1) / 4, P = (0.55, 0.2, 0.25);
  // sequence 1 = tokens 2, 3: counts (1, 2, 1) / 4, P = (0.15, 0.45, 0.4). Averaged.
  const double seq0 = (2 * 0.55 + 1 * 0.2 + 1 * 0.25) / 4, seq1 = (1 * 0.15 + 2 * 0.45 + 1 * 0.4) / 4;
  CHECK(balance_loss({"alpha=0.1", "scope=\"sequence\""}, r) == Approx(0.1 * 3 * (seq0 + seq1) / 2));
  // The global scope over one forward equals the batch scope.
  CHECK(balance_loss({"alpha=0.1", "scope=\"global\""}, r) == Approx(0.1 * 3 * dot(f_topk)));
}

TEST_CASE("switch_aux at perfect balance: alpha, or alpha k with the hf normalisation", "[moe][balance]") {
  Routing r;
  r.n_experts = 4;
  r.top_k = 2;
  r.probs = Tensor::full({4, 4}, 0.25, DType::f64);
  r.expert_ids = Tensor::from_vector(std::vector<std::int64_t>{0, 1, 2, 3, 1, 0, 3, 2}, {4, 2});
  r.seq_len = 4;
  Generator gen(1);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 4, 2);
  for (const auto& [normalization, expected] :
       std::vector<std::pair<std::string, double>>{{"switch", 0.01}, {"topk", 0.01}, {"hf", 0.02}}) {
    INFO(normalization);
    auto b = test::make_moe_component<Balance>(ComponentKind::balance, "switch_aux",
                                               {"normalization=\"" + normalization + "\""}, ctx);
    StepContext step(true);
    CHECK(b->loss(r, step).item() == Approx(expected));
  }
}

TEST_CASE("switch_aux global scope accumulates counts over micro-batches until the optimizer step",
          "[moe][balance]") {
  Generator gen(1);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 3, 2);
  auto b = test::make_moe_component<Balance>(ComponentKind::balance, "switch_aux", {"alpha=1", "scope=\"global\""}, ctx);
  const Routing first = tiny_routing();  // all-slot counts (3, 3, 2) over 4 tokens
  Routing second = tiny_routing();       // same probs; every slot on experts 0 and 1
  second.expert_ids = Tensor::from_vector(std::vector<std::int64_t>{0, 1, 0, 1, 0, 1, 0, 1}, {4, 2});
  StepContext step(true);
  b->loss(first, step);
  // Accumulated counts (3 + 4, 3 + 4, 2 + 0) over 8 tokens x 2 slots; P from this micro-batch.
  const double f[3] = {7 / 16.0, 7 / 16.0, 2 / 16.0};
  CHECK(b->loss(second, step).item() == Approx(3 * (f[0] * 0.35 + f[1] * 0.325 + f[2] * 0.325)));
  b->after_step();  // the next step starts from zero counts
  const double g[3] = {4 / 8.0, 4 / 8.0, 0.0};
  CHECK(b->loss(second, step).item() == Approx(3 * (g[0] * 0.35 + g[1] * 0.325 + g[2] * 0.325)));
}

TEST_CASE("switch_aux global scope: an evaluation forward between micro-batches leaves the step's counts alone",
          "[moe][balance]") {
  Generator gen(1);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 3, 2);
  auto with_eval = test::make_moe_component<Balance>(ComponentKind::balance, "switch_aux", {"alpha=1", "scope=\"global\""}, ctx);
  auto without = test::make_moe_component<Balance>(ComponentKind::balance, "switch_aux", {"alpha=1", "scope=\"global\""}, ctx);
  const Routing first = tiny_routing();
  Routing second = tiny_routing();
  second.expert_ids = Tensor::from_vector(std::vector<std::int64_t>{0, 1, 0, 1, 0, 1, 0, 1}, {4, 2});
  StepContext step(true), eval(false);
  with_eval->loss(first, step);
  without->loss(first, step);
  // The evaluation forward counts its own tokens only: the batch scope's value.
  const double f[3] = {4 / 8.0, 4 / 8.0, 0.0};
  CHECK(with_eval->loss(second, eval).item() == Approx(3 * (f[0] * 0.35 + f[1] * 0.325 + f[2] * 0.325)));
  CHECK(with_eval->loss(second, step).item() == without->loss(second, step).item());
}

TEST_CASE("switch_aux: the gradient flows through P only", "[moe][balance]") {
  const Routing r = tiny_routing();
  Generator gen(1);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 3, 2);
  auto b = test::make_moe_component<Balance>(ComponentKind::balance, "switch_aux", {"alpha=1"}, ctx);
  StepContext step(true);
  b->loss(r, step).backward();
  // dL/dp[t, i] = alpha E f_i / N with f = (3, 3, 2) / 8.
  const std::vector<double> g = r.probs.grad().to_vector<double>();
  for (int t = 0; t < 4; ++t) {
    CHECK(g[std::size_t(3 * t + 0)] == Approx(3 * (3 / 8.0) / 4));
    CHECK(g[std::size_t(3 * t + 2)] == Approx(3 * (2 / 8.0) / 4));
  }
}

TEST_CASE("z_loss is coef * mean logsumexp(logits)^2 and none adds nothing", "[moe][balance]") {
  Routing r = tiny_routing();
  r.logits = Tensor::from_vector(std::vector<double>{1, 2, 3, 0, 0, 0, -1, 5, 2, 4, 4, 4}, {4, 3});
  double expected = 0;
  for (const std::vector<double>& row : {std::vector<double>{1, 2, 3}, {0, 0, 0}, {-1, 5, 2}, {4, 4, 4}}) {
    double s = 0;
    for (double v : row) s += std::exp(v);
    expected += std::log(s) * std::log(s);
  }
  CHECK(balance_loss({"coef=0.01"}, r, "z_loss") == Approx(0.01 * expected / 4));
  CHECK(balance_loss({}, r, "none") == 0.0);
}

TEST_CASE("switch_aux with scope = sequence refuses tokens that are not whole sequences", "[moe][balance][errors]") {
  Routing r = tiny_routing();
  r.seq_len = 3;
  CHECK_THROWS_WITH(balance_loss({"scope=\"sequence\""}, r), Catch::Contains("needs whole sequences"));
}

namespace {

double phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double cv2(const std::vector<double>& v) {
  double m = 0, var = 0;
  for (double x : v) m += x / double(v.size());
  for (double x : v) var += (x - m) * (x - m) / double(v.size());
  return var / (m * m);
}

}  // namespace

TEST_CASE("importance_load matches the formulas of Shazeer et al. computed by hand", "[moe][balance]") {
  // 2 tokens, E = 3, k = 1.
  Routing r;
  r.n_experts = 3;
  r.top_k = 1;
  r.logits = Tensor::from_vector(std::vector<double>{0.8, 0.6, -0.5, 0.1, 0.2, 0.3}, {2, 3}).requires_grad_();
  // The payload noisy top-k gives its routing, under the names the moe plugin uses.
  r.extras["noisy_logits"] = Tensor::from_vector(std::vector<double>{1.0, 0.5, -1.0, -0.2, 0.4, 0.1}, {2, 3});
  r.extras["noise_std"] = Tensor::from_vector(std::vector<double>{1.0, 2.0, 0.5, 1.0, 1.0, 0.5}, {2, 3}).requires_grad_();
  r.expert_ids = Tensor::from_vector(std::vector<std::int64_t>{0, 1}, {2, 1});
  r.gates = Tensor::from_vector(std::vector<double>{0.7, 0.4}, {2, 1});
  r.probs = softmax(r.logits);
  // importance = (0.7, 0.4, 0); load: token 0's top-1 is expert 0 (H = 1): its threshold is
  // the 2nd largest H (0.5), the others' the largest (1.0); token 1: top-1 expert 1 (0.4).
  const std::vector<double> importance = {0.7, 0.4, 0.0};
  const std::vector<double> load = {phi((0.8 - 0.5) / 1.0) + phi((0.1 - 0.4) / 1.0),
                                    phi((0.6 - 1.0) / 2.0) + phi((0.2 - 0.1) / 1.0),
                                    phi((-0.5 - 1.0) / 0.5) + phi((0.3 - 0.4) / 0.5)};
  Generator gen(1);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 3, 1);
  auto b = test::make_moe_component<Balance>(ComponentKind::balance, "importance_load",
                                             {"w_importance=0.5", "w_load=0.25"}, ctx);
  StepContext step(true);
  CHECK(b->loss(r, step).item() == Approx(0.5 * cv2(importance) + 0.25 * cv2(load)).epsilon(1e-8));

  // The load term is differentiable in the clean logits and the noise scale.
  auto only_load = test::make_moe_component<Balance>(ComponentKind::balance, "importance_load",
                                                     {"w_importance=0", "w_load=1"}, ctx);
  STRATA_REQUIRE_GRADCHECK(
      [&](const std::vector<Tensor>& in) {
        Routing q = r;
        q.logits = in[0];
        q.extras["noise_std"] = in[1];
        StepContext s(true);
        return only_load->loss(q, s);
      },
      {r.logits, r.extras["noise_std"]});

  // Without the noisy router's noise the load term is an error in training, left out in evaluation.
  Routing plain = r;
  plain.extras.erase("noise_std");
  CHECK_THROWS_WITH(b->loss(plain, step), Catch::Contains("needs the noise of the noisy_topk router"));
  StepContext eval(false);
  CHECK(b->loss(plain, eval).item() == Approx(0.5 * cv2(importance)));
}
