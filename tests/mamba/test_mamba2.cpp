// The mamba2 mixer (Mamba-2 block over the SSD op): conformance checks (f64 gradients of the
// input and every parameter, causality, decoding) for several shapes, groups and chunk sizes;
// the chunk size changes nothing but speed; decoding in uneven pieces; Hugging Face's
// parameter names and shapes; config errors; and learning the copy task.
#include <map>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "mamba_registry.h"
#include "strata/autograd.h"
#include "strata/experiment.h"
#include "strata/model_plan.h"
#include "strata/trainer.h"

using namespace strata;

namespace {

std::shared_ptr<Mixer> make_mamba2(const std::vector<std::string>& keys, std::int64_t d_model, Generator& gen) {
  const Config config = testing::component_config(test::mamba_registry(), ComponentKind::mixer, "mamba2", keys);
  BuildContext ctx;
  ctx.gen = &gen;
  ctx.registry = &test::mamba_registry();
  ctx.dims.d_model = d_model;
  ctx.dtype = DType::f64;
  return test::mamba_registry().create<Mixer>(config, ctx);
}

}  // namespace

TEST_CASE("mamba2 mixer passes the conformance checks", "[mamba2][mixer][gradcheck]") {
  for (const std::vector<std::string>& keys :
       std::vector<std::vector<std::string>>{{},
                                             {"head_dim=4", "d_state=4", "chunk_size=3"},
                                             {"n_groups=2", "head_dim=3", "d_state=2", "chunk_size=1", "d_conv=2"},
                                             {"conv_bias=false", "proj_bias=true", "d_inner=12", "head_dim=6"},
                                             // the initial steps lie in [0.001, 0.1]: both clamps act
                                             {"head_dim=4", "d_state=3", "dt_limit_min=0.02", "dt_limit_max=0.05"},
                                             {"head_dim=4", "d_state=3", "d_per_channel=true"},
                                             {"head_dim=3", "n_groups=2", "d_state=3", "norm_before_gate=true"}}) {
    std::string name = "mamba2";
    for (const auto& k : keys) name += " " + k;
    INFO(name);
    const Config config = testing::component_config(test::mamba_registry(), ComponentKind::mixer, "mamba2", keys);
    testing::ComponentCheckOptions options;
    options.d_model = 6;
    options.seq_len = 9;
    const testing::CheckReport report =
        testing::check_component(test::mamba_registry(), ComponentKind::mixer, config, options);
    INFO(report.to_string());
    CHECK(report.passed());
  }
}

TEST_CASE("mamba2: the chunk size changes nothing but speed, and decoding in uneven pieces equals the forward",
          "[mamba2][mixer][decode]") {
  Generator gen(5), same(5);
  auto whole = make_mamba2({"head_dim=4", "d_state=8", "n_groups=2", "chunk_size=64"}, 16, gen);
  auto chunked = make_mamba2({"head_dim=4", "d_state=8", "n_groups=2", "chunk_size=5"}, 16, same);
  Generator data(6);
  const Tensor x = Tensor::randn({2, 23, 16}, data, DType::f64);
  StepContext ctx;
  const Tensor y = whole->forward(x, ctx);
  STRATA_REQUIRE_CLOSE(chunked->forward(x, ctx), y, 1e-11, 1e-11);
  autograd::NoGradGuard no_grad;
  auto state = whole->make_state(2);
  std::vector<Tensor> pieces;
  std::int64_t t = 0;
  for (std::int64_t n : {1, 4, 1, 9, 8}) {
    pieces.push_back(whole->forward_step(slice(x, 1, t, t + n), *state, ctx));
    t += n;
  }
  STRATA_REQUIRE_CLOSE(concat(pieces, 1), y, 1e-11, 1e-11);
  CHECK(state->position() == 23);
}

TEST_CASE("mamba2 parameters have Hugging Face's Mamba2Mixer names and shapes", "[mamba2][mixer]") {
  Generator gen(1);
  // d_model 32: E = 64, head_dim 16 -> H = 4, G = 2, N = 8, conv_dim = 64 + 2 * 2 * 8 = 96
  const auto mixer = make_mamba2({"head_dim=16", "n_groups=2", "d_state=8"}, 32, gen);
  std::map<std::string, Shape> shapes;
  for (const NamedParameter& p : mixer->named_parameters()) shapes[p.name] = p.tensor.shape();
  CHECK(shapes == std::map<std::string, Shape>{{"in_proj.weight", {2 * 64 + 2 * 16 + 4, 32}},
                                               {"conv1d.weight", {96, 4}},
                                               {"conv1d.bias", {96}},
                                               {"dt_bias", {4}},
                                               {"A_log", {4}},
                                               {"D", {4}},
                                               {"norm.weight", {64}},
                                               {"out_proj.weight", {32, 64}}});
  // A in [1, 16] and softplus(dt_bias) in [dt_min, dt_max], as mamba_ssm initialises them.
  for (const NamedParameter& p : mixer->named_parameters()) {
    if (p.name == "A_log")
      for (double v : p.tensor.to_vector<double>()) CHECK((std::exp(v) >= 1.0 && std::exp(v) <= 16.0));
    if (p.name == "dt_bias")
      for (double v : p.tensor.to_vector<double>()) CHECK((std::log1p(std::exp(v)) >= 0.001 - 1e-12 &&
                                                            std::log1p(std::exp(v)) <= 0.1 + 1e-12));
  }
}

TEST_CASE("mamba2: D per channel is [d_inner], and equal values within each head give the per-head model",
          "[mamba2][mixer]") {
  Generator gen(3), same(3), data(4);
  auto per_head = make_mamba2({"head_dim=4", "d_state=4"}, 8, gen);              // E 16, 4 heads
  auto per_channel = make_mamba2({"head_dim=4", "d_state=4", "d_per_channel=true"}, 8, same);
  std::map<std::string, Tensor> head_params;
  for (const NamedParameter& p : per_head->named_parameters()) head_params[p.name] = p.tensor;
  autograd::NoGradGuard no_grad;
  for (const NamedParameter& p : per_channel->named_parameters()) {
    if (p.name != "D") {
      Tensor(p.tensor).copy_(head_params.at(p.name));
      continue;
    }
    REQUIRE(p.tensor.shape() == Shape{16});
    const std::vector<double> d = {0.5, -1.0, 2.0, 0.25};  // one value per head
    Tensor(head_params.at("D")).copy_(Tensor::from_vector(d, {4}));
    std::vector<double> per_lane;
    for (double v : d) per_lane.insert(per_lane.end(), 4, v);
    Tensor(p.tensor).copy_(Tensor::from_vector(per_lane, {16}));
  }
  const Tensor x = Tensor::randn({2, 7, 8}, data, DType::f64);
  StepContext ctx;
  STRATA_REQUIRE_CLOSE(per_channel->forward(x, ctx), per_head->forward(x, ctx), 1e-12, 1e-12);
}

TEST_CASE("mamba2: norm_before_gate normalises before the gate, which changes the output", "[mamba2][mixer]") {
  Generator gen(8), same(8), data(9);
  auto gate_first = make_mamba2({"head_dim=4", "d_state=4", "n_groups=2"}, 8, gen);
  auto norm_first = make_mamba2({"head_dim=4", "d_state=4", "n_groups=2", "norm_before_gate=true"}, 8, same);
  const Tensor x = Tensor::randn({2, 7, 8}, data, DType::f64);
  StepContext ctx;
  const Tensor a = gate_first->forward(x, ctx), b = norm_first->forward(x, ctx);
  CHECK_FALSE(test::mismatch(a, b, 1e-6).empty());  // same weights, another norm order
}

TEST_CASE("mamba2: shapes that do not divide are config errors naming the key", "[mamba2][config][errors]") {
  Generator gen(1);
  CHECK_THROWS_WITH(make_mamba2({"head_dim=5"}, 8, gen),
                    Catch::Contains("head_dim") && Catch::Contains("not a multiple of head_dim = 5"));
  CHECK_THROWS_WITH(make_mamba2({"head_dim=4", "n_groups=3"}, 8, gen),
                    Catch::Contains("n_groups") && Catch::Contains("does not divide the 4 heads"));
  CHECK_THROWS_WITH(make_mamba2({"A_init_min=20"}, 8, gen), Catch::Contains("A_init_min"));
  CHECK_THROWS_WITH(make_mamba2({"dt_limit_min=0.1", "dt_limit_max=0.05"}, 8, gen),
                    Catch::Contains("dt_limit_max") && Catch::Contains("not above dt_limit_min"));
}

TEST_CASE("a Mamba-2-only model learns the copy task", "[mamba2][training]") {
  const char* text = R"(
[task]
type = "copy"
n_symbols = 8
copy_len = 8
n_blanks = 8

[model]
d_model = 64
n_layers = 2

[model.mixer.M]
type = "mamba2"
head_dim = 16
d_state = 16

[train]
steps = 1000
batch_size = 16
lr = 3e-3
warmup_steps = 40
schedule = "cosine"
eval_every = 1000
eval_batches = 8
log_every = 1000
seed = 3
threads = 1
)";
  const TrainSummary summary = test::train_experiment(text, "mamba2_copy.toml", test::mamba_registry());
  INFO("eval loss " << summary.initial_eval.loss << " -> " << summary.final_eval.loss << ", accuracy "
                    << summary.final_eval.accuracy);
  CHECK(summary.final_eval.loss < 0.1 * summary.initial_eval.loss);
  CHECK(summary.final_eval.accuracy > 0.9);  // chance: 1/8
}

TEST_CASE("mamba2: the analytic cost counts the built parameters", "[mamba2][plan]") {
  for (const std::string keys : {"", "d_per_channel = true\nproj_bias = true\nn_groups = 2\nhead_dim = 8",
                                 "conv_bias = false\nd_inner = 48\nhead_dim = 12\nd_state = 5"}) {
    INFO(keys);
    const Experiment e = Experiment::from_string(
        "[task]\ntype = \"copy\"\n[model]\nd_model = 16\nn_layers = 2\n[model.mixer.m]\ntype = \"mamba2\"\n" + keys + "\n",
        "plan.toml", test::hermetic_options(), test::mamba_registry());
    const ModelPlan plan = plan_model(e, test::mamba_registry(), {});
    CHECK_FALSE(plan.estimated);
    CHECK(plan.params_total == build_experiment(e, test::mamba_registry()).model->num_parameters());
  }
}
