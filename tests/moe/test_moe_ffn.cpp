// The moe ffn against a per-token loop over experts written with plain loops in f64
// (routing, renormalisation, capacity with both drop policies, shared experts), its
// conformance checks with every router, and telemetry.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "moe_registry.h"
#include "strata/autograd.h"
#include "strata/experiment.h"

using namespace strata;

namespace {

using Matrix = std::vector<double>;  // row-major

std::map<std::string, Tensor> parameters_by_name(const Module& m) {
  std::map<std::string, Tensor> out;
  for (const NamedParameter& p : m.named_parameters()) out[p.name] = p.tensor;
  return out;
}

// out[r] = sum_c w[r * cols + c] x[c]
std::vector<double> matvec(const double* w, std::int64_t rows, std::int64_t cols, const std::vector<double>& x) {
  std::vector<double> out(static_cast<std::size_t>(rows), 0.0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) out[std::size_t(r)] += w[r * cols + c] * x[std::size_t(c)];
  return out;
}

// Expert e of stacked SwiGLU weights gate_up [G, 2F, D], down [G, D, F] on one token.
std::vector<double> swiglu_expert(const Matrix& gate_up, const Matrix& down, std::int64_t e, std::int64_t D,
                                  std::int64_t F, const std::vector<double>& x) {
  const std::vector<double> gu = matvec(gate_up.data() + e * 2 * F * D, 2 * F, D, x);
  std::vector<double> h(static_cast<std::size_t>(F));
  for (std::int64_t f = 0; f < F; ++f) {
    const double g = gu[std::size_t(f)];
    h[std::size_t(f)] = g / (1 + std::exp(-g)) * gu[std::size_t(F + f)];
  }
  return matvec(down.data() + e * D * F, D, F, h);
}

struct Reference {
  std::int64_t E, k;
  bool renormalize = true;
  double capacity_factor = 0;
  bool drop_by_position = false;
  std::int64_t n_shared = 0;
  bool shared_gate = false;  // the shared experts' sum times sigmoid(x . shared_expert_gate)
};

// x: [N, D] -> [N, D], and the number of dropped slots.
std::pair<Tensor, std::int64_t> reference_moe(const Tensor& x, const std::map<std::string, Tensor>& p,
                                              const Reference& c) {
  const std::int64_t N = x.size(0), D = x.size(1), E = c.E, k = c.k;
  const Matrix xv = x.to_vector<double>(), W = p.at("router.weight").to_vector<double>();
  const Matrix gate_up = p.at("experts.gate_up_proj").to_vector<double>(), down = p.at("experts.down_proj").to_vector<double>();
  const std::int64_t F = p.at("experts.down_proj").size(2);
  std::vector<std::vector<std::int64_t>> ids(static_cast<std::size_t>(N));
  std::vector<std::vector<double>> gates(static_cast<std::size_t>(N)), probs(static_cast<std::size_t>(N));
  for (std::int64_t t = 0; t < N; ++t) {
    const std::vector<double> xt(xv.begin() + t * D, xv.begin() + (t + 1) * D);
    std::vector<double> logits = matvec(W.data(), E, D, xt);
    const double m = *std::max_element(logits.begin(), logits.end());
    double z = 0;
    for (double& l : logits) z += (l = std::exp(l - m));
    for (double& l : logits) l /= z;
    probs[std::size_t(t)] = logits;
    std::vector<std::int64_t> order(static_cast<std::size_t>(E));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return logits[std::size_t(a)] > logits[std::size_t(b)]; });
    double kept = 0;
    for (std::int64_t j = 0; j < k; ++j) kept += logits[std::size_t(order[std::size_t(j)])];
    for (std::int64_t j = 0; j < k; ++j) {
      ids[std::size_t(t)].push_back(order[std::size_t(j)]);
      gates[std::size_t(t)].push_back(logits[std::size_t(order[std::size_t(j)])] / (c.renormalize ? kept : 1.0));
    }
  }
  std::int64_t dropped = 0;
  if (c.capacity_factor > 0) {
    const auto C = std::int64_t(std::ceil(c.capacity_factor * double(k * N) / double(E)));
    for (std::int64_t e = 0; e < E; ++e) {
      std::vector<std::pair<std::int64_t, std::int64_t>> mine;  // (t, j) in slot order
      for (std::int64_t t = 0; t < N; ++t)
        for (std::int64_t j = 0; j < k; ++j)
          if (ids[std::size_t(t)][std::size_t(j)] == e) mine.push_back({t, j});
      if (!c.drop_by_position)
        std::stable_sort(mine.begin(), mine.end(), [&](auto a, auto b) {
          return probs[std::size_t(a.first)][std::size_t(e)] > probs[std::size_t(b.first)][std::size_t(e)];
        });
      for (std::size_t i = std::size_t(C); i < mine.size(); ++i, ++dropped)
        ids[std::size_t(mine[i].first)][std::size_t(mine[i].second)] = -1;
    }
  }
  std::vector<double> y(static_cast<std::size_t>(N * D), 0.0);
  for (std::int64_t t = 0; t < N; ++t) {
    const std::vector<double> xt(xv.begin() + t * D, xv.begin() + (t + 1) * D);
    for (std::int64_t j = 0; j < k; ++j) {
      const std::int64_t e = ids[std::size_t(t)][std::size_t(j)];
      if (e < 0) continue;
      const std::vector<double> out = swiglu_expert(gate_up, down, e, D, F, xt);
      for (std::int64_t d = 0; d < D; ++d) y[std::size_t(t * D + d)] += gates[std::size_t(t)][std::size_t(j)] * out[std::size_t(d)];
    }
    if (c.n_shared > 0) {
      const Matrix sgu = p.at("shared_experts.gate_up_proj").to_vector<double>();
      const Matrix sd = p.at("shared_experts.down_proj").to_vector<double>();
      double gate = 1.0;
      if (c.shared_gate) {
        const Matrix w = p.at("shared_expert_gate.weight").to_vector<double>();
        gate = 1.0 / (1.0 + std::exp(-matvec(w.data(), 1, D, xt)[0]));
      }
      for (std::int64_t s = 0; s < c.n_shared; ++s) {
        const std::vector<double> out = swiglu_expert(sgu, sd, s, D, F, xt);
        for (std::int64_t d = 0; d < D; ++d) y[std::size_t(t * D + d)] += gate * out[std::size_t(d)];
      }
    }
  }
  return {Tensor::from_vector(y, {N, D}), dropped};
}

struct Case {
  std::string name;
  std::vector<std::string> keys;
  Reference reference;
};

}  // namespace

TEST_CASE("moe ffn equals a per-token loop over experts", "[moe][ffn]") {
  const std::int64_t D = 6;
  const std::vector<Case> cases = {
      {"dropless top-2, renormalised", {"n_experts=4", "top_k=2", "d_ff=5"}, {4, 2}},
      {"top-2 not renormalised", {"n_experts=5", "top_k=2", "d_ff=5", "router.renormalize=false"}, {5, 2, false}},
      {"top-1 switch router", {"n_experts=4", "top_k=1", "d_ff=5", "router.type=\"switch\""}, {4, 1, false}},
      {"capacity 0.5, drop by probability", {"n_experts=4", "top_k=2", "d_ff=5", "capacity_factor=0.5"}, {4, 2, true, 0.5}},
      {"capacity 0.75, drop by position",
       {"n_experts=3", "top_k=2", "d_ff=5", "capacity_factor=0.75", "drop_policy=\"position\""},
       {3, 2, true, 0.75, true}},
      {"shared experts", {"n_experts=4", "top_k=2", "d_ff=5", "n_shared_experts=2"}, {4, 2, true, 0, false, 2}},
      {"a gated shared expert (Qwen3-Next)",
       {"n_experts=4", "top_k=2", "d_ff=5", "n_shared_experts=1", "shared_gate=true"},
       {4, 2, true, 0, false, 1, true}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Generator gen(90);
    const BuildContext ctx = test::moe_context(gen, D, DType::f64);
    auto moe = test::make_moe_component<Ffn>(ComponentKind::ffn, "moe", c.keys, ctx);
    Generator data(91);
    const Tensor x = Tensor::randn({3, 7, D}, data, DType::f64);
    StepContext step(true);
    const Tensor y = moe->forward(x, step);
    const auto [expected, dropped] = reference_moe(reshape(x, {21, D}), parameters_by_name(*moe), c.reference);
    STRATA_REQUIRE_CLOSE(reshape(y, {21, D}), expected, 1e-12, 1e-10);
    CHECK(step.metrics().at("dropped_fraction") == Approx(double(dropped) / double(21 * c.reference.k)));
    if (c.reference.capacity_factor > 0) CHECK(dropped > 0);  // the case really drops
  }
}

TEST_CASE("moe ffn passes the conformance checks with every router", "[moe][ffn][gradcheck]") {
  const std::vector<std::vector<std::string>> option_sets = {
      {},
      {"router.renormalize=false", "n_experts=3", "top_k=3"},
      {"top_k=1", "router.type=\"switch\""},
      {"router.type=\"noisy_topk\"", "n_experts=6", "top_k=2"},
      {"activation=\"gelu\"", "n_shared_experts=1", "d_ff=6"},
      {"n_shared_experts=2", "shared_gate=true", "shared_d_ff=3"},
      {"capacity_factor=1.0", "drop_policy=\"position\""},
      {"router.type=\"uniform\""},
      {"router.type=\"random\"", "top_k=3"},
  };
  for (const auto& keys : option_sets) {
    std::string name = "moe";
    for (const auto& k : keys) name += " " + k;
    INFO(name);
    const testing::CheckReport report = test::check_moe(keys);
    INFO(report.to_string());
    CHECK(report.passed());
  }
}

TEST_CASE("moe telemetry: load shares, CV, dead experts, entropy", "[moe][ffn]") {
  Generator gen(92);
  const BuildContext ctx = test::moe_context(gen, 8, DType::f64);
  auto moe = test::make_moe_component<Ffn>(ComponentKind::ffn, "moe", {"n_experts=4", "top_k=1", "d_ff=4"}, ctx);
  // A router whose weights make expert 2 win for every token: one expert holds all the load.
  for (NamedParameter p : moe->named_parameters())
    if (p.name == "router.weight") {
      autograd::NoGradGuard no_grad;
      std::vector<double> w(4 * 8, 0.0);
      for (std::int64_t d = 0; d < 8; ++d) w[std::size_t(2 * 8 + d)] = 10.0;
      p.tensor.copy_(Tensor::from_vector(w, {4, 8}));
    }
  const Tensor x = add(mul(Tensor::rand({2, 5, 8}, gen, DType::f64), 0.5), 0.5);  // positive: x . w_2 > 0
  StepContext step(true);
  moe->forward(x, step);
  const auto& m = step.metrics();
  CHECK(m.at("load.2") == 1.0);
  CHECK(m.at("load.0") == 0.0);
  CHECK(m.at("dead_experts") == 3.0);
  CHECK(m.at("load_cv") == Approx(std::sqrt(3.0)));  // counts (0, 0, 10, 0): std / mean = sqrt(3)
  CHECK(m.at("global_load_cv") == m.at("load_cv"));  // one process: its micro-batch is the global batch
  CHECK(m.at("max_violation") == Approx(3.0));
  CHECK(m.at("router_entropy") < 0.1);
  // Evaluation forwards add no telemetry.
  StepContext eval(false);
  moe->forward(x, eval);
  CHECK(eval.metrics().empty());
}

TEST_CASE("moe detailed telemetry: co-activation matrix, token-id x expert and position x expert histograms",
          "[moe][ffn]") {
  Generator gen(93);
  const BuildContext ctx = test::moe_context(gen, 4, DType::f64);
  // The uniform router sends slot s = 2t + j to expert s mod 4: tokens alternate (0, 1) and (2, 3).
  auto moe = test::make_moe_component<Ffn>(
      ComponentKind::ffn, "moe", {"n_experts=4", "top_k=2", "d_ff=4", "router.type=\"uniform\"", "detailed_telemetry=true"},
      ctx);
  StepContext step(true);
  step.set_token_ids(Tensor::from_vector(std::vector<std::int64_t>{7, 7, 3, 7, 3}, {1, 5}));
  moe->forward(Tensor::randn({1, 5, 4}, gen, DType::f64), step);
  const auto& m = step.metrics();
  CHECK(m.at("coactivation.0.1") == 3.0);  // tokens 0, 2, 4
  CHECK(m.at("coactivation.2.3") == 2.0);  // tokens 1, 3
  CHECK(m.at("coactivation.0.2") == 0.0);
  CHECK(m.at("coactivation.1.1") == 0.0);  // no token went to expert 1 alone
  // Token id 7 at positions 0, 1, 3 -> experts (0, 1), (2, 3), (2, 3); id 3 at 2, 4 -> (0, 1) twice.
  CHECK(m.at("token_expert.7.0") == 1.0);
  CHECK(m.at("token_expert.7.2") == 2.0);
  CHECK(m.at("token_expert.3.1") == 2.0);
  CHECK(m.count("token_expert.3.2") == 0);
  // Positions: 0, 2, 4 -> (0, 1); 1, 3 -> (2, 3).
  CHECK(m.at("position_expert.0.0") == 1.0);
  CHECK(m.at("position_expert.3.3") == 1.0);
  CHECK(m.count("position_expert.1.0") == 0);

  // Two sequences of 5: token t = 5 b + p; position p counts both sequences' slots.
  StepContext two(true);
  two.set_token_ids(Tensor::zeros({2, 5}, DType::i64));
  moe->forward(Tensor::randn({2, 5, 4}, gen, DType::f64), two);
  // Position 0: token 0 -> (0, 1), token 5 -> slots 10, 11 -> (2, 3).
  for (const char* key : {"position_expert.0.0", "position_expert.0.1", "position_expert.0.2", "position_expert.0.3"})
    CHECK(two.metrics().at(key) == 1.0);
  CHECK(two.metrics().count("position_expert.5.0") == 0);  // positions stop at T - 1
}

TEST_CASE("the hash router routes by token id inside a model", "[moe][ffn][router]") {
  const char* text = R"(
[task]
type = "copy"
n_symbols = 8
copy_len = 4
[model]
d_model = 16
n_layers = 1
[model.mixer.A]
type = "attention"
[model.ffn.E]
type = "moe"
n_experts = 4
top_k = 1
router = { type = "hash" }
detailed_telemetry = true
)";
  const ExperimentOptions options = test::hermetic_options();
  const Experiment e = Experiment::from_string(text, "hash.toml", options, test::moe_registry());
  const auto objects = build_experiment(e, test::moe_registry());
  Generator gen(5);
  const Batch batch = objects.task->train_batch(4, gen);
  StepContext step(true, &gen);
  objects.model->forward(batch.inputs, step);
  // Every token id goes to exactly one expert, whatever its position.
  std::map<std::string, int> experts_of_id;
  for (const auto& [name, value] : step.metrics()) {
    const std::string prefix = "layers.0.ffn.token_expert.";
    if (name.rfind(prefix, 0) != 0 || value == 0) continue;
    const std::string rest = name.substr(prefix.size());
    ++experts_of_id[rest.substr(0, rest.find('.'))];
  }
  REQUIRE(experts_of_id.size() > 3);
  for (const auto& [id, count] : experts_of_id) {
    INFO("token id " << id);
    CHECK(count == 1);
  }
}
