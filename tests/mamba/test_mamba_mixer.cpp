// The mamba mixer as a plugin component: conformance checks (f64 gradients of the input
// and every parameter, causality, decoding) for every option; the block against a plain
// composition of ops and the step-by-step scan; decoding in uneven chunks; chunked
// training with the state passed along (values and parameter gradients); the
// initialisation of mamba_ssm; weight-decay flags and parameter names.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "mamba_registry.h"
#include "scan_reference.h"
#include "strata/autograd.h"

using namespace strata;

namespace {

const std::vector<std::vector<std::string>> kOptionSets = {
    {},
    {"d_state=3", "d_conv=1", "dt_rank=2"},
    {"inner_norms=true", "norm_eps=1e-5"},
    {"conv_bias=false", "proj_bias=true", "d_inner=12"},
    {"d_conv=2", "expand=1", "dt_init=\"constant\"", "dt_scale=2.0", "d_state=9"},
    {"selective=false", "inner_norms=true"},
};

std::string describe(const std::vector<std::string>& keys) {
  std::string s = "mamba";
  for (const auto& k : keys) s += " " + k;
  return s;
}

std::map<std::string, NamedParameter> parameters_by_name(const Module& m) {
  std::map<std::string, NamedParameter> out;
  for (const NamedParameter& p : m.named_parameters()) out[p.name] = p;
  return out;
}

// Decodes x ([B, T, D]) in pieces of the given lengths (covering T).
Tensor decode(Mixer& mixer, const Tensor& x, const std::vector<std::int64_t>& pieces) {
  autograd::NoGradGuard no_grad;
  StepContext ctx;
  auto state = mixer.make_state(x.size(0));
  REQUIRE(state);
  const std::size_t bytes = state->size_bytes();
  std::vector<Tensor> outputs;
  std::int64_t t = 0;
  for (std::int64_t n : pieces) {
    outputs.push_back(mixer.forward_step(slice(x, 1, t, t + n), *state, ctx));
    t += n;
    CHECK(state->size_bytes() == bytes);  // constant, however many tokens
  }
  REQUIRE(t == x.size(1));
  CHECK(state->position() == x.size(1));
  return concat(outputs, 1);
}

}  // namespace

TEST_CASE("mamba mixer passes the conformance checks with every option", "[mamba][mixer][gradcheck]") {
  for (const auto& keys : kOptionSets) {
    INFO(describe(keys));
    const Config config = testing::component_config(test::mamba_registry(), ComponentKind::mixer, "mamba", keys);
    testing::ComponentCheckOptions options;
    options.d_model = 6;
    options.seq_len = 9;
    const testing::CheckReport report =
        testing::check_component(test::mamba_registry(), ComponentKind::mixer, config, options);
    INFO(report.to_string());
    CHECK(report.passed());
  }
}

TEST_CASE("mamba mixer equals the block composed from plain ops and the step-by-step scan", "[mamba][mixer]") {
  for (const auto& [norms, selective] : {std::pair{false, true}, std::pair{true, true}, std::pair{false, false}}) {
    INFO("inner_norms " << norms << ", selective " << selective);
    const std::int64_t d_model = 8, E = 16, N = 4, R = 1;
    auto mixer = test::make_mamba({"d_state=4", std::string("inner_norms=") + (norms ? "true" : "false"),
                                   std::string("selective=") + (selective ? "true" : "false")},
                                  d_model);
    auto p = parameters_by_name(*mixer);
    Generator gen(5);
    const Tensor u = Tensor::randn({2, 21, d_model}, gen, DType::f64);
    StepContext ctx;
    const Tensor out = mixer->forward(u, ctx);

    autograd::NoGradGuard no_grad;
    const Tensor xz = linear(u, p["in_proj.weight"].tensor);
    const Tensor x_raw = slice(xz, 2, 0, E), z = slice(xz, 2, E, 2 * E);
    // The convolution written out: tap j weighs the input K-1-j steps back.
    const std::int64_t K = 4, T = u.size(1);
    const Tensor padded = concat({Tensor::zeros({2, K - 1, E}, DType::f64), x_raw}, 1);
    Tensor conv = p["conv1d.bias"].tensor;
    for (std::int64_t j = 0; j < K; ++j)
      conv = add(conv, mul(slice(padded, 1, j, j + T), reshape(slice(p["conv1d.weight"].tensor, 1, j, j + 1), {E})));
    const Tensor x = silu(conv);
    // Selective: [dt; B; C] from the input. Not: the same learned constants at every position.
    const Tensor dbc = selective ? linear(x, p["x_proj.weight"].tensor)
                                 : mul(Tensor::ones({2, T, R + 2 * N}, DType::f64), p["dbc"].tensor);
    CHECK(p.count("x_proj.weight") == (selective ? 1u : 0u));
    Tensor dt = slice(dbc, 2, 0, R), Bm = slice(dbc, 2, R, R + N), Cm = slice(dbc, 2, R + N, R + 2 * N);
    if (norms) {
      dt = rmsnorm(dt, p["dt_layernorm.weight"].tensor, 1e-6);
      Bm = rmsnorm(Bm, p["b_layernorm.weight"].tensor, 1e-6);
      Cm = rmsnorm(Cm, p["c_layernorm.weight"].tensor, 1e-6);
    }
    SelectiveScanInputs s;
    s.u = x;
    s.delta = linear(dt, p["dt_proj.weight"].tensor, p["dt_proj.bias"].tensor);  // softplus(W dt + b)
    s.A = neg(exp(p["A_log"].tensor));
    s.B = Bm;
    s.C = Cm;
    s.D = p["D"].tensor;
    s.z = z;
    const Tensor expected = linear(test::reference_selective_scan(s).y, p["out_proj.weight"].tensor);
    STRATA_REQUIRE_CLOSE(out, expected, 1e-12, 1e-10);
  }
}

TEST_CASE("mamba decoding equals the forward, token by token and in uneven chunks", "[mamba][mixer][decode]") {
  for (const auto& keys : kOptionSets) {
    INFO(describe(keys));
    auto mixer = test::make_mamba(keys, 8);
    Generator gen(6);
    const Tensor x = Tensor::randn({3, 23, 8}, gen, DType::f64);
    StepContext ctx;
    Tensor full;
    {
      autograd::NoGradGuard no_grad;
      full = mixer->forward(x, ctx);
    }
    STRATA_REQUIRE_CLOSE(decode(*mixer, x, std::vector<std::int64_t>(23, 1)), full, 1e-12, 1e-12);
    // A prefill, a piece shorter than d_conv - 1, then single tokens and a long piece.
    STRATA_REQUIRE_CLOSE(decode(*mixer, x, {5, 2, 1, 1, 14}), full, 1e-12, 1e-12);
  }
  // f32 with the vectorised scan (d_inner 32: four 8-channel groups).
  auto mixer = test::make_mamba({}, 16, DType::f32);
  Generator gen(7);
  const Tensor x = Tensor::randn({2, 70, 16}, gen);
  StepContext ctx;
  autograd::NoGradGuard no_grad;
  STRATA_REQUIRE_CLOSE(decode(*mixer, x, {3, 1, 1, 65}), mixer->forward(x, ctx), 1e-5, 1e-4);
}

TEST_CASE("mamba: chunked training with the state passed along equals one long sequence",
          "[mamba][mixer][gradcheck]") {
  auto mixer = test::make_mamba({"d_state=5", "inner_norms=true"}, 8);
  Generator gen(8);
  Tensor x = Tensor::randn({2, 150, 8}, gen, DType::f64).requires_grad_();
  const Tensor w = Tensor::randn({2, 150, 8}, gen, DType::f64);
  StepContext ctx;

  sum(mul(mixer->forward(x, ctx), w)).backward();
  std::map<std::string, Tensor> long_grads;
  for (const NamedParameter& p : mixer->named_parameters()) long_grads[p.name] = p.tensor.grad();
  const Tensor long_dx = x.grad();
  mixer->zero_grad();
  x.set_grad(Tensor());

  // Grad mode on: the state keeps its history, so the loss of later chunks reaches
  // the parameters and inputs of earlier ones through the conv and SSM states.
  auto state = mixer->make_state(2);
  Tensor loss = Tensor::scalar(0.0, DType::f64);
  std::int64_t t = 0;
  for (std::int64_t n : {1, 64, 2, 50, 33}) {
    const Tensor y = mixer->forward_step(slice(x, 1, t, t + n), *state, ctx);
    loss = add(loss, sum(mul(y, slice(w, 1, t, t + n))));
    t += n;
  }
  loss.backward();
  for (const NamedParameter& p : mixer->named_parameters()) {
    INFO(p.name);
    STRATA_REQUIRE_CLOSE(p.tensor.grad(), long_grads[p.name], 1e-10, 1e-9);
  }
  STRATA_REQUIRE_CLOSE(x.grad(), long_dx, 1e-10, 1e-9);
}

TEST_CASE("mamba initialisation follows mamba_ssm", "[mamba][mixer][init]") {
  const std::int64_t d_model = 64;
  auto mixer = test::make_mamba({"dt_min=0.002", "dt_max=0.2", "d_state=8"}, d_model, DType::f32, 11);
  auto p = parameters_by_name(*mixer);
  const std::int64_t E = 128, N = 8, R = 4;  // expand 2, dt_rank ceil(64 / 16)
  REQUIRE(p["A_log"].tensor.shape() == Shape{E, N});
  const std::vector<double> a_log = p["A_log"].tensor.to_vector<double>();
  for (std::int64_t i = 0; i < E * N; ++i) REQUIRE(a_log[i] == Approx(std::log(double(i % N + 1))).margin(1e-7));
  for (double d : p["D"].tensor.to_vector<double>()) REQUIRE(d == 1.0);

  // softplus(dt bias) in [dt_min, dt_max], spread log-uniformly (median near the geometric mean).
  std::vector<double> dt;
  for (double b : p["dt_proj.bias"].tensor.to_vector<double>()) dt.push_back(std::log1p(std::exp(b)));
  REQUIRE(dt.size() == std::size_t(E));
  for (double v : dt) {
    CHECK(v >= 0.002 * (1 - 1e-5));
    CHECK(v <= 0.2 * (1 + 1e-5));
  }
  std::sort(dt.begin(), dt.end());
  const double geometric_mean = std::sqrt(0.002 * 0.2);
  CHECK(dt[E / 2] > geometric_mean / 2.5);
  CHECK(dt[E / 2] < geometric_mean * 2.5);
  CHECK(dt.front() < 0.004);  // reaches both ends of the range
  CHECK(dt.back() > 0.1);

  // dt_proj.weight ~ U(-s, s), s = dt_rank^-0.5.
  REQUIRE(p["dt_proj.weight"].tensor.shape() == Shape{E, R});
  double max_abs = 0;
  for (double v : p["dt_proj.weight"].tensor.to_vector<double>()) max_abs = std::max(max_abs, std::abs(v));
  CHECK(max_abs <= 0.5);
  CHECK(max_abs > 0.4);

  // The floor: with dt_min below dt_init_floor every initial step is at least the floor.
  auto floored = test::make_mamba({"dt_min=1e-6", "dt_max=1e-3", "dt_init_floor=1e-4"}, 16, DType::f64, 12);
  std::int64_t at_floor = 0;
  for (const NamedParameter& q : floored->named_parameters())
    if (q.name == "dt_proj.bias")
      for (double b : q.tensor.to_vector<double>()) {
        const double v = std::log1p(std::exp(b));
        CHECK(v >= 1e-4 * (1 - 1e-9));
        at_floor += std::abs(v - 1e-4) < 1e-12;
      }
  CHECK(at_floor > 0);  // log-uniform on [1e-6, 1e-3]: two thirds of the draws fall below 1e-4

  auto constant = test::make_mamba({"dt_init=\"constant\"", "dt_scale=3.0"}, 32, DType::f64);
  for (const NamedParameter& q : constant->named_parameters())
    if (q.name == "dt_proj.weight")
      for (double v : q.tensor.to_vector<double>()) REQUIRE(v == Approx(3.0 / std::sqrt(2.0)));
}

TEST_CASE("mamba parameters: names, shapes and weight decay", "[mamba][mixer]") {
  auto mixer = test::make_mamba({"inner_norms=true", "d_state=4", "d_conv=3"}, 16);
  const std::map<std::string, std::pair<Shape, bool>> expected = {
      {"in_proj.weight", {{64, 16}, true}},       {"conv1d.weight", {{32, 3}, true}},
      {"conv1d.bias", {{32}, false}},             {"x_proj.weight", {{1 + 8, 32}, true}},
      {"dt_proj.weight", {{32, 1}, true}},        {"dt_proj.bias", {{32}, false}},
      {"A_log", {{32, 4}, false}},                {"D", {{32}, false}},
      {"out_proj.weight", {{16, 32}, true}},      {"dt_layernorm.weight", {{1}, false}},
      {"b_layernorm.weight", {{4}, false}},       {"c_layernorm.weight", {{4}, false}},
  };
  const auto params = parameters_by_name(*mixer);
  CHECK(params.size() == expected.size());
  for (const auto& [name, spec] : expected) {
    INFO(name);
    REQUIRE(params.count(name) == 1);
    CHECK(params.at(name).tensor.shape() == spec.first);
    CHECK(params.at(name).weight_decay == spec.second);
  }
  // The decoding state: d_conv - 1 conv rows and N states per channel, whatever the length.
  auto state = mixer->make_state(3);
  CHECK(state->size_bytes() == std::size_t(3 * (2 * 32 + 32 * 4) * 8));
}

TEST_CASE("mamba dt telemetry reports the mean step size per token id in training steps", "[mamba][mixer]") {
  auto mixer = test::make_mamba({"d_state=4", "dt_telemetry=true"}, 8);
  auto p = parameters_by_name(*mixer);
  Generator gen(12);
  const Tensor u = Tensor::randn({2, 6, 8}, gen, DType::f64);
  StepContext training(true);
  training.set_token_ids(Tensor::from_vector(std::vector<std::int64_t>{3, 3, 5, 3, 5, 9, 3, 5, 5, 5, 9, 9}, {2, 6}));
  mixer->forward(u, training);
  const auto& m = training.metrics();
  REQUIRE(m.size() == 3);
  for (const char* key : {"dt.3", "dt.5", "dt.9"}) {
    INFO(key);
    REQUIRE(m.count(key) == 1);
    CHECK(m.at(key) > 0.0);
  }
  // One token alone: its mean step is the mean over channels of softplus(delta + bias).
  StepContext one(true);
  one.set_token_ids(Tensor::from_vector(std::vector<std::int64_t>{4}, {1, 1}));
  const Tensor u1 = slice(u, 1, 0, 1).slice(0, 0, 1);
  mixer->forward(u1, one);
  {
    autograd::NoGradGuard no_grad;
    const std::int64_t E = 16;
    const Tensor x = silu(add(mul(slice(linear(u1, p["in_proj.weight"].tensor), 2, 0, E),
                                  reshape(slice(p["conv1d.weight"].tensor, 1, 3, 4), {E})),
                              p["conv1d.bias"].tensor));
    const Tensor dt = slice(linear(x, p["x_proj.weight"].tensor), 2, 0, 1);
    const double expected = mean(softplus(linear(dt, p["dt_proj.weight"].tensor, p["dt_proj.bias"].tensor))).item();
    CHECK(one.metrics().at("dt.4") == Approx(expected).epsilon(1e-12));
  }
  StepContext eval(false);
  eval.set_token_ids(training.token_ids());
  mixer->forward(u, eval);
  CHECK(eval.metrics().empty());
}
