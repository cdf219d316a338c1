// Routers beyond softmax top-k: sigmoid_bias (DeepSeek-V3) against a plain-loop
// reference with group-limited selection and a selection bias; the aux_free_bias update
// rule and its effect on the choice; errors for combinations that cannot work.
#include <algorithm>
#include <cmath>
#include <map>
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

// Builds a one-layer model whose ffn has the given moe keys, from lines 9 on of "bad.toml".
void build_moe_model(const std::string& moe_keys) {
  const std::string text = "[task]\ntype = \"copy\"\n[model]\nd_model = 16\n[model.mixer.A]\ntype = \"attention\"\n"
                           "[model.ffn.E]\ntype = \"moe\"\n" + moe_keys + "\n";
  const ExperimentOptions options = test::hermetic_options();
  const Experiment e = Experiment::from_string(text, "bad.toml", options, test::moe_registry());
  build_experiment(e, test::moe_registry());
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
  StepContext eval(false);
  Routing skewed = r;
  skewed.counts = Tensor::from_vector(std::vector<std::int64_t>{0, 0, 50, 0}, {4});
  controller->loss(skewed, eval);  // an evaluation forward between steps does not count
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
    const testing::CheckReport report = test::check_moe(keys);
    INFO(report.to_string());
    CHECK(report.passed());
  }
}

TEST_CASE("router configs that cannot work are located errors", "[moe][router][errors]") {
  CHECK_THROWS_WITH(build_moe_model("n_experts = 6\nrouter = { type = \"sigmoid_bias\", n_groups = 4 }"),
                    Catch::Contains("bad.toml:10:") && Catch::Contains("does not divide n_experts = 6"));
  CHECK_THROWS_WITH(build_moe_model("router = { type = \"sigmoid_bias\", n_groups = 2, topk_groups = 3 }"),
                    Catch::Contains("exceeds n_groups = 2"));
  CHECK_THROWS_WITH(build_moe_model("n_experts = 8\ntop_k = 4\nrouter = { type = \"sigmoid_bias\", n_groups = 4, topk_groups = 1 }"),
                    Catch::Contains("fewer than top_k = 4"));
  CHECK_THROWS_WITH(build_moe_model("router = { type = \"noisy_topk\" }\nbalance = [{ type = \"aux_free_bias\" }]"),
                    Catch::Contains("bad.toml:10:") && Catch::Contains("router noisy_topk does not"));
  CHECK_NOTHROW(build_moe_model("top_k = 1\nrouter = { type = \"switch\" }\nbalance = [{ type = \"aux_free_bias\" }]"));
}

TEST_CASE("baseline routers: uniform is balanced, random draws distinct experts, hash follows the token id",
          "[moe][router]") {
  Generator gen(102);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64, 5, 2);
  const Tensor x = Tensor::randn({10, 4}, gen, DType::f64);
  StepContext eval(false);

  auto uniform = test::make_moe_component<Router>(ComponentKind::router, "uniform", {}, ctx);
  const Routing u = uniform->route(x, eval);
  CHECK(u.counts.to_vector<std::int64_t>() == std::vector<std::int64_t>{4, 4, 4, 4, 4});
  for (double g : u.gates.to_vector<double>()) CHECK(g == 0.5);

  auto random = test::make_moe_component<Router>(ComponentKind::router, "random", {"seed=3"}, ctx);
  const std::vector<std::int64_t> r1 = random->route(x, eval).expert_ids.to_vector<std::int64_t>();
  CHECK(random->route(x, eval).expert_ids.to_vector<std::int64_t>() == r1);  // evaluation repeats
  for (std::size_t t = 0; t < 10; ++t) CHECK(r1[2 * t] != r1[2 * t + 1]);
  Generator step_gen(4);
  StepContext train(true, &step_gen);
  CHECK(random->route(x, train).expert_ids.to_vector<std::int64_t>() != r1);  // training draws anew

  auto hash = test::make_moe_component<Router>(ComponentKind::router, "hash", {}, ctx);
  CHECK_THROWS_WITH(hash->route(x, eval), Catch::Contains("needs the token ids"));
  StepContext with_ids(false);
  with_ids.set_token_ids(Tensor::from_vector(std::vector<std::int64_t>{3, 1, 3, 3, 0, 1, 2, 3, 0, 1}, {2, 5}));
  const std::vector<std::int64_t> h = hash->route(x, with_ids).expert_ids.to_vector<std::int64_t>();
  for (std::size_t t : {2, 3, 7}) CHECK((h[2 * t] == h[0] && h[2 * t + 1] == h[1]));  // the same id, the same experts
  for (std::size_t t = 0; t < 10; ++t) CHECK(h[2 * t] != h[2 * t + 1]);
}

TEST_CASE("expert_choice: each expert takes its ceil(c N / E) best tokens and the moe equals a per-expert loop",
          "[moe][router]") {
  const std::int64_t D = 4, E = 4, N = 10;
  Generator gen(103);
  const BuildContext ctx = test::moe_context(gen, D, DType::f64, E, 2);
  auto router = test::make_moe_component<Router>(ComponentKind::router, "expert_choice", {"experts_per_token=1.5"}, ctx);
  CHECK_FALSE(router->causal());
  const Tensor x = Tensor::randn({N, D}, gen, DType::f64);
  StepContext eval(false);
  const Routing r = router->route(x, eval);
  const std::int64_t take = 4;  // ceil(1.5 * 10 / 4)
  CHECK(r.counts.to_vector<std::int64_t>() == std::vector<std::int64_t>(E, take));
  const std::vector<double> p = r.probs.to_vector<double>();
  const std::vector<std::int64_t> ids = r.expert_ids.to_vector<std::int64_t>();
  for (std::int64_t e = 0; e < E; ++e) {
    // The chosen tokens are exactly those with the `take` largest S[:, e].
    std::vector<double> column;
    for (std::int64_t t = 0; t < N; ++t) column.push_back(p[std::size_t(t * E + e)]);
    std::vector<double> sorted = column;
    std::sort(sorted.rbegin(), sorted.rend());
    for (std::int64_t t = 0; t < N; ++t) {
      INFO("expert " << e << " token " << t);
      CHECK((ids[std::size_t(t * E + e)] == e) == (column[std::size_t(t)] >= sorted[std::size_t(take - 1)]));
    }
  }

  // The moe ffn with expert choice: y_t = sum over the experts that took t of S[t, e] expert_e(x_t).
  auto moe = test::make_moe_component<Ffn>(
      ComponentKind::ffn, "moe",
      {"n_experts=4", "d_ff=3", "router.type=\"expert_choice\"", "allow_non_causal=true", "activation=\"gelu\""}, ctx);
  CHECK_FALSE(moe->token_independent());
  std::map<std::string, Tensor> p_moe;
  for (const NamedParameter& q : moe->named_parameters()) p_moe[q.name] = q.tensor;
  const Tensor y = moe->forward(reshape(x, {1, N, D}), eval);
  const Routing routed = [&] {
    std::shared_ptr<Router> copy = test::make_moe_component<Router>(ComponentKind::router, "expert_choice", {}, ctx);
    set_router_weight(*copy, p_moe["router.weight"]);
    return copy->route(x, eval);
  }();
  Tensor expected = Tensor::zeros({N, D}, DType::f64);
  const std::vector<std::int64_t> chosen = routed.expert_ids.to_vector<std::int64_t>();
  for (std::int64_t t = 0; t < N; ++t)
    for (std::int64_t e = 0; e < E; ++e) {
      if (chosen[std::size_t(t * E + e)] < 0) continue;
      const Tensor xt = slice(x, 0, t, t + 1);
      const Tensor up = reshape(slice(p_moe["experts.up_proj"], 0, e, e + 1), {3, D});
      const Tensor down = reshape(slice(p_moe["experts.down_proj"], 0, e, e + 1), {D, 3});
      const Tensor out = matmul(gelu(matmul(xt, up, false, true)), down, false, true);
      const Tensor s = slice(slice(routed.probs, 0, t, t + 1), 1, e, e + 1);
      expected = index_add(expected, 0, Tensor::from_vector(std::vector<std::int64_t>{t}, {1}), mul(out, s));
    }
  STRATA_REQUIRE_CLOSE(reshape(y, {N, D}), expected, 1e-12, 1e-10);

  const testing::CheckReport report = test::check_moe({"router.type=\"expert_choice\"", "allow_non_causal=true"});
  INFO(report.to_string());
  CHECK(report.passed());
}

TEST_CASE("expert_choice is refused in a causal model unless allowed, and takes no capacity_factor",
          "[moe][router][errors]") {
  CHECK_THROWS_WITH(build_moe_model("router = { type = \"expert_choice\" }"),
                    Catch::Contains("bad.toml:9:") && Catch::Contains("non-causal") && Catch::Contains("allow_non_causal = true"));
  CHECK_THROWS_WITH(build_moe_model("router = { type = \"expert_choice\" }\nallow_non_causal = true\ncapacity_factor = 1.0"),
                    Catch::Contains("bad.toml:11:") && Catch::Contains("sets each expert's capacity itself"));
  CHECK_NOTHROW(build_moe_model("router = { type = \"expert_choice\" }\nallow_non_causal = true"));
}

TEST_CASE("aux_free_bias keeps its bias as a buffer of the model, not a parameter", "[moe][balance]") {
  Generator gen(104);
  const BuildContext ctx = test::moe_context(gen, 6, DType::f32);
  auto moe = test::make_moe_component<Ffn>(ComponentKind::ffn, "moe", {"n_experts=4", "top_k=1"}, ctx);
  CHECK(moe->named_buffers().empty());
  const std::string text = "[task]\ntype = \"copy\"\n[model]\nd_model = 16\nn_layers = 2\n[model.mixer.A]\n"
                           "type = \"attention\"\n[model.ffn.E]\ntype = \"moe\"\nn_experts = 4\n"
                           "balance = [{ type = \"z_loss\" }, { type = \"aux_free_bias\", rate = 0.5 }]\n";
  const ExperimentOptions options = test::hermetic_options();
  const Experiment e = Experiment::from_string(text, "bias.toml", options, test::moe_registry());
  const auto objects = build_experiment(e, test::moe_registry());
  const std::vector<NamedBuffer> buffers = objects.model->named_buffers();
  REQUIRE(buffers.size() == 2);
  CHECK(buffers[0].name == "layers.0.ffn.balance_1.expert_bias");
  CHECK(buffers[1].name == "layers.1.ffn.balance_1.expert_bias");
  for (const NamedParameter& p : objects.model->named_parameters()) CHECK(p.name.find("expert_bias") == std::string::npos);
  // The buffer is the live bias: an optimizer step's update shows in it.
  Generator data(1);
  const Batch batch = objects.task->train_batch(2, data);
  StepContext step(true, &data);
  objects.model->forward(batch.inputs, step);
  objects.model->after_step();
  double moved = 0;
  for (double b : buffers[0].tensor.to_vector<double>()) moved += std::abs(b);
  CHECK(moved > 0);
}

TEST_CASE("a router built outside an moe ffn names the size it lacks", "[moe][router]") {
  // The expert count reaches routers from their parent (BuildContext::from_parent), not
  // from the core: without a parent that passes it, the factory says so.
  Generator gen(3);
  const BuildContext bare = test::moe_context(gen, 4, DType::f32);
  CHECK_THROWS_WITH(test::make_moe_component<Router>(ComponentKind::router, "softmax_topk", {}, bare),
                    Catch::Contains("' from the component that builds it, and none was given") &&
                        Catch::Contains("inside an moe ffn"));
  const BuildContext inside = test::moe_context(gen, 4, DType::f32, 4, 2);
  auto router = test::make_moe_component<Router>(ComponentKind::router, "softmax_topk", {}, inside);
  StepContext step(false);
  const Routing r = router->route(Tensor::randn({5, 4}, gen), step);
  CHECK(r.n_experts == 4);
  CHECK(r.expert_ids.size(1) == 2);
}
