// Routers beyond softmax top-k: sigmoid_bias (DeepSeek-V3) against a plain-loop
// reference with group-limited selection and a selection bias; the aux_free_bias update
// rule and its effect on the choice; errors for combinations that cannot work.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "moe_registry.h"
#include "strata/autograd.h"
#include "strata/experiment.h"

using namespace strata;

namespace {

void set_router_weight(Module& router, const Tensor& w) {
  for (NamedParameter p : router.named_parameters())
    if (p.name == "weight") {
      autograd::NoGradGuard no_grad;
      p.tensor.copy_(w);
    }
}

// DeepSeek-V3's selection for one token, written out: s = sigmoid(logits); group score =
// sum of the two best s + bias in the group; keep the best `keep` groups; top-k of s + bias
// inside them; gates = s at the chosen / their sum * scaling.
void reference_sigmoid_route(const std::vector<double>& logits, const std::vector<double>& bias, std::int64_t k,
                             std::int64_t groups, std::int64_t keep, double scaling, std::vector<std::int64_t>& ids,
                             std::vector<double>& gates) {
  const std::int64_t E = std::int64_t(logits.size()), per = E / groups;
  std::vector<double> s(logits.size()), biased(logits.size());
  for (std::size_t e = 0; e < s.size(); ++e) s[e] = 1 / (1 + std::exp(-logits[e])), biased[e] = s[e] + bias[e];
  std::vector<std::pair<double, std::int64_t>> g;
  for (std::int64_t i = 0; i < groups; ++i) {
    std::vector<double> v(biased.begin() + i * per, biased.begin() + (i + 1) * per);
    std::sort(v.rbegin(), v.rend());
    g.push_back({v[0] + v[1], i});
  }
  std::stable_sort(g.begin(), g.end(), [](auto a, auto b) { return a.first > b.first; });
  std::vector<std::int64_t> candidates;
  for (std::int64_t i = 0; i < keep; ++i)
    for (std::int64_t e = g[std::size_t(i)].second * per; e < (g[std::size_t(i)].second + 1) * per; ++e) candidates.push_back(e);
  std::sort(candidates.begin(), candidates.end());
  std::stable_sort(candidates.begin(), candidates.end(), [&](auto a, auto b) { return biased[std::size_t(a)] > biased[std::size_t(b)]; });
  ids.assign(candidates.begin(), candidates.begin() + k);
  double total = 0;
  for (std::int64_t e : ids) total += s[std::size_t(e)];
  gates.clear();
  for (std::int64_t e : ids) gates.push_back(s[std::size_t(e)] / total * scaling);
}

}  // namespace

TEST_CASE("sigmoid_bias equals DeepSeek-V3's selection written out", "[moe][router]") {
  const std::int64_t D = 5, E = 8, k = 3, N = 12;
  Generator gen(100);
  const BuildContext ctx = test::moe_context(gen, D, DType::f64, E, k);
  auto router = test::make_moe_component<Router>(ComponentKind::router, "sigmoid_bias",
                                                 {"n_groups=4", "topk_groups=2", "scaling=2.5"}, ctx);
  const Tensor W = Tensor::randn({E, D}, gen, DType::f64);
  set_router_weight(*router, W);
  const std::vector<double> bias_values = {0.3, -0.2, 0.0, 0.1, -0.4, 0.25, 0.05, -0.1};
  for (const bool with_bias : {false, true}) {
    INFO("selection bias " << with_bias);
    const Tensor bias = Tensor::from_vector(bias_values, {E});
    if (with_bias) router->set_selection_bias(bias);
    const Tensor x = Tensor::randn({N, D}, gen, DType::f64);
    StepContext step(false);
    const Routing r = router->route(x, step);
    const std::vector<double> logits = matmul(x, W, false, true).to_vector<double>();
    const std::vector<std::int64_t> got_ids = r.expert_ids.to_vector<std::int64_t>();
    const std::vector<double> got_gates = r.gates.to_vector<double>();
    for (std::int64_t t = 0; t < N; ++t) {
      std::vector<std::int64_t> ids;
      std::vector<double> gates;
      reference_sigmoid_route(std::vector<double>(logits.begin() + t * E, logits.begin() + (t + 1) * E),
                              with_bias ? bias_values : std::vector<double>(E, 0.0), k, 4, 2, 2.5, ids, gates);
      for (std::int64_t j = 0; j < k; ++j) {
        INFO("token " << t << " slot " << j);
        CHECK(got_ids[std::size_t(t * k + j)] == ids[std::size_t(j)]);
        CHECK(got_gates[std::size_t(t * k + j)] == Approx(gates[std::size_t(j)]).epsilon(1e-12));
      }
    }
    // probs for balance terms: s normalised per token.
    for (double v : sum(r.probs, {-1}).to_vector<double>()) CHECK(v == Approx(1.0));
  }
}

TEST_CASE("aux_free_bias: b_i += rate * sign(mean load - load_i) after the step, and it steers selection",
          "[moe][balance][router]") {
  Generator gen(101);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 4, 1);
  auto controller = test::make_moe_component<Balance>(ComponentKind::balance, "aux_free_bias", {"rate=0.5"}, ctx);
  const Tensor bias = controller->selection_bias();
  REQUIRE(bias.shape() == Shape{4});
  Routing r;
  r.n_experts = 4;
  r.counts = Tensor::from_vector(std::vector<std::int64_t>{3, 1, 0, 4}, {4});  // mean 2
  StepContext step(true);
  CHECK_FALSE(controller->loss(r, step).defined());  // no loss
  controller->loss(r, step);                          // loads add up over the step: (6, 2, 0, 8), mean 4
  CHECK(bias.to_vector<double>() == std::vector<double>{0, 0, 0, 0});
  controller->after_step();
  CHECK(bias.to_vector<double>() == std::vector<double>{-0.5, 0.5, 0.5, -0.5});
  controller->after_step();  // no forward since: equal (zero) loads, no change
  CHECK(bias.to_vector<double>() == std::vector<double>{-0.5, 0.5, 0.5, -0.5});

  // A softmax_topk router that shares the bias chooses by p + b but gates by p.
  auto router = test::make_moe_component<Router>(ComponentKind::router, "softmax_topk", {"renormalize=false"}, ctx);
  set_router_weight(*router, Tensor::zeros({4, 4}, DType::f64));  // p = 1/4 for every expert
  router->set_selection_bias(bias);
  const Routing routed = router->route(Tensor::ones({3, 4}, DType::f64), step);
  for (std::int64_t e : routed.expert_ids.to_vector<std::int64_t>()) CHECK(e == 1);  // the first of the raised experts
  for (double g : routed.gates.to_vector<double>()) CHECK(g == Approx(0.25));
}

TEST_CASE("moe with sigmoid_bias and aux_free_bias passes the conformance checks", "[moe][router][gradcheck]") {
  for (const auto& keys : std::vector<std::vector<std::string>>{
           {"router.type=\"sigmoid_bias\"", "n_experts=8", "top_k=2", "router.n_groups=4", "router.topk_groups=2"},
           {"router.type=\"sigmoid_bias\"", "router.normalize=false", "router.scaling=2.5"}}) {
    const Config config = testing::component_config(test::moe_registry(), ComponentKind::ffn, "moe", keys);
    testing::ComponentCheckOptions options;
    options.d_model = 6;
    const testing::CheckReport report = testing::check_component(test::moe_registry(), ComponentKind::ffn, config, options);
    INFO(report.to_string());
    CHECK(report.passed());
  }
}

TEST_CASE("router configs that cannot work are located errors", "[moe][router][errors]") {
  auto build = [](const std::string& moe_keys) {
    const std::string text = "[task]\ntype = \"copy\"\n[model]\nd_model = 16\n[model.mixer.A]\ntype = \"attention\"\n"
                             "[model.ffn.E]\ntype = \"moe\"\n" + moe_keys + "\n";
    ExperimentOptions options;
    options.default_plugin_folders = false;
    const Experiment e = Experiment::from_string(text, "bad.toml", options, test::moe_registry());
    build_experiment(e, test::moe_registry());
  };
  CHECK_THROWS_WITH(build("n_experts = 6\nrouter = { type = \"sigmoid_bias\", n_groups = 4 }"),
                    Catch::Contains("bad.toml:10:") && Catch::Contains("does not divide n_experts = 6"));
  CHECK_THROWS_WITH(build("router = { type = \"sigmoid_bias\", n_groups = 2, topk_groups = 3 }"),
                    Catch::Contains("exceeds n_groups = 2"));
  CHECK_THROWS_WITH(build("n_experts = 8\ntop_k = 4\nrouter = { type = \"sigmoid_bias\", n_groups = 4, topk_groups = 1 }"),
                    Catch::Contains("fewer than top_k = 4"));
  CHECK_THROWS_WITH(build("router = { type = \"noisy_topk\" }\nbalance = [{ type = \"aux_free_bias\" }]"),
                    Catch::Contains("bad.toml:10:") && Catch::Contains("router noisy_topk does not"));
  CHECK_NOTHROW(build("top_k = 1\nrouter = { type = \"switch\" }\nbalance = [{ type = \"aux_free_bias\" }]"));
}
