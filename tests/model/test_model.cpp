// The model builder: plans, parameter trees, tied heads, decoding, built-in components.
#include "catch.h"
#include "helpers.h"
#include "registry_helpers.h"
#include "strata/experiment.h"
#include "strata/model_plan.h"
#include "strata/testing/component_check.h"

using namespace strata;

namespace {
const char* kTwoMixers = R"(
[task]
type = "copy"
copy_len = 4
n_symbols = 6

[model]
d_model = 12
n_layers = 4
tie_embeddings = false

[model.mixer.S]
type = "shortconv"
kernel_size = 2
[model.mixer.L]
type = "shortconv"
kernel_size = 5
expand = 2

[model.ffn.F]
type = "mlp"
d_ff = 20

[model.stack]
mixers = "SL"
)";

ExperimentObjects build(const std::string& text, std::vector<std::string> overrides = {}) {
  return build_experiment(Experiment::from_string(text, "model.toml", test::hermetic_options(std::move(overrides)),
                                                  test::example_registry()),
                          test::example_registry());
}
}  // namespace

TEST_CASE("model: the pattern repeats over n_layers and every layer has its own parameters", "[model]") {
  const auto objects = build(kTwoMixers);
  const Model& m = *objects.model;
  REQUIRE(m.plan().size() == 4);
  const std::vector<std::string> expected{"S", "L", "S", "L"};
  for (int i = 0; i < 4; ++i) {
    CHECK(m.plan()[std::size_t(i)].mixer_entry == expected[std::size_t(i)]);
    CHECK(m.plan()[std::size_t(i)].mixer_type == "shortconv");
    CHECK(m.plan()[std::size_t(i)].ffn_entry == "F");  // the single ffn entry everywhere
  }
  // shortconv, gated: in_proj D x 2E, conv E x K + E, out_proj E x D.
  const std::int64_t D = 12;
  auto shortconv_params = [&](std::int64_t E, std::int64_t K) { return D * 2 * E + E * K + E + E * D; };
  CHECK(m.plan()[0].mixer_params == shortconv_params(12, 2));
  CHECK(m.plan()[1].mixer_params == shortconv_params(24, 5));
  CHECK(m.plan()[0].ffn_params == D * 40 + 20 * D);  // swiglu: [2H, D] + [D, H]
  const std::int64_t V = 8;                          // n_symbols + blank + marker
  const std::int64_t norms = 4 * 2 * D + D;
  std::int64_t layers = 0;
  for (const auto& p : m.plan()) layers += p.mixer_params + p.ffn_params;
  CHECK(m.num_parameters() == V * D /*embedding*/ + layers + norms + V * D /*untied head*/);
  // Parameter names follow the module tree; layers do not share tensors.
  const auto named = m.named_parameters();
  CHECK(named.front().name == "embedding.weight");
  bool found = false;
  for (const auto& p : named) found = found || p.name == "layers.3.mixer.conv_weight";
  CHECK(found);
  CHECK_FALSE(m.named_parameters()[1].tensor.shares_storage(m.named_parameters()[5].tensor));
  // describe() prints the plan.
  const std::string text = m.describe();
  CHECK(text.find("L (shortconv)") != std::string::npos);
  CHECK(text.find("LM head") != std::string::npos);
}

TEST_CASE("model: tied embeddings share the matrix and drop the head parameter", "[model]") {
  const auto untied = build(kTwoMixers);
  const auto tied = build(kTwoMixers, {"model.tie_embeddings=true"});
  CHECK(untied.model->num_parameters() - tied.model->num_parameters() == 8 * 12);
}

TEST_CASE("model: norms, biases and marked parameters carry no weight decay", "[model]") {
  const auto objects = build(kTwoMixers, {"model.norm=layernorm", "model.ffn.F.bias=true"});
  for (const auto& p : objects.model->named_parameters()) {
    const bool exempt = p.name.find("norm") != std::string::npos || p.name.find("bias") != std::string::npos;
    INFO(p.name);
    CHECK(p.weight_decay == !exempt);
  }
}

TEST_CASE("model: forward gives [B, T, V] logits and is causal", "[model]") {
  const auto objects = build(kTwoMixers);
  Generator gen(3);
  const Tensor ids = Tensor::randint({2, 9}, 0, 8, gen);
  StepContext ctx;
  const Tensor logits = objects.model->forward(ids, ctx);
  CHECK(logits.shape() == Shape{2, 9, 8});
  std::vector<std::int64_t> changed = ids.to_vector<std::int64_t>();
  changed[5] = (changed[5] + 1) % 8;  // token 5 of sequence 0
  const Tensor logits2 = objects.model->forward(Tensor::from_vector(changed, {2, 9}), ctx);
  STRATA_REQUIRE_CLOSE(logits2.slice(1, 0, 5), logits.slice(1, 0, 5), 0.0, 0.0);
  CHECK(test::mismatch(logits2.slice(1, 5, 6), logits.slice(1, 5, 6), 1e-6).size() > 0);
  CHECK_THROWS_AS(objects.model->forward(Tensor::zeros({2, 9}), ctx), ShapeError);  // f32 ids
}

TEST_CASE("model: decoding token by token and in chunks equals the full forward", "[model]") {
  const auto objects = build(kTwoMixers);
  Model& m = *objects.model;
  autograd::NoGradGuard no_grad;
  Generator gen(4);
  const Tensor ids = Tensor::randint({3, 10}, 0, 8, gen);
  StepContext ctx;
  const Tensor full = m.forward(ids, ctx);
  DecodeState state = m.make_decode_state(3);
  CHECK(state.size_bytes() > 0);
  std::vector<Tensor> pieces;
  pieces.push_back(m.forward_step(ids.slice(1, 0, 4), state, ctx));  // a prompt
  for (std::int64_t t = 4; t < 10; ++t) pieces.push_back(m.forward_step(ids.slice(1, t, t + 1), state, ctx));
  CHECK(state.position == 10);
  STRATA_REQUIRE_CLOSE(concat(pieces, 1), full, 1e-5, 1e-5);
}

TEST_CASE("model: layers without an ffn, from a pattern over ffn entries", "[model]") {
  const char* text = R"(
[task]
type = "copy"
[model]
d_model = 8
n_layers = 2
[model.mixer.S]
type = "shortconv"
)";
  const auto objects = build(text);
  CHECK(objects.model->plan()[0].ffn_entry.empty());
  CHECK(objects.model->plan()[1].ffn_params == 0);
}

TEST_CASE("builtin mlp: conformance checks for every activation", "[model]") {
  auto& registry = test::example_registry();
  for (const char* activation : {"swiglu", "gelu", "gelu_tanh"}) {
    const Config c = testing::component_config(registry, ComponentKind::ffn, "mlp",
                                               {std::string("activation=") + activation, "bias=true", "d_ff=6"});
    const auto report = testing::check_component(registry, ComponentKind::ffn, c);
    INFO(report.to_string());
    CHECK(report.passed());
  }
}

TEST_CASE("component checks catch a broken component", "[model]") {
  // A conformance check that cannot fail is worthless: a non-causal mixer must fail it.
  struct Peeking : Mixer {
    Tensor w;
    explicit Peeking(DType dtype) { w = register_parameter("w", Tensor::ones({1}, dtype)); }
    // y_t = x_{t+1} * w (looks one token ahead)
    Tensor forward(const Tensor& x, StepContext&) override {
      const std::int64_t T = x.size(1);
      Tensor next = concat({slice(x, 1, 1, T), Tensor::zeros({x.size(0), 1, x.size(2)}, x.dtype())}, 1);
      return mul(next, w);
    }
  };
  ComponentRegistry registry;
  registry.add({ComponentKind::mixer, "peeking", "looks ahead", {}, {}},
               [](const Config&, const BuildContext& ctx) -> std::unique_ptr<Component> {
                 return std::make_unique<Peeking>(ctx.dtype);
               });
  const auto report = testing::check_component(registry, ComponentKind::mixer,
                                               testing::component_config(registry, ComponentKind::mixer, "peeking"));
  CHECK_FALSE(report.passed());
  CHECK(report.to_string().find("FAIL causality: perturbing token 1 changed output 0") != std::string::npos);
}

TEST_CASE("model plan: the example plugin's analytic cost equals the built shortconv model", "[model][plan]") {
  for (const char* keys : {"", "gate = false\nbias = true", "expand = 3\nkernel_size = 7"}) {
    INFO(keys);
    const std::string text = "[task]\ntype = \"copy\"\ncopy_len = 4\nn_symbols = 6\n[model]\nd_model = 12\n"
                             "n_layers = 2\n[model.ffn.F]\ntype = \"mlp\"\n[model.mixer.X]\ntype = \"shortconv\"\n" +
                             std::string(keys) + "\n";
    const Experiment e = Experiment::from_string(text, "plan.toml", {}, test::example_registry());
    const ModelPlan plan = plan_model(e, test::example_registry(), {3, "f32"});
    const auto built = build_experiment(e, test::example_registry());
    CHECK_FALSE(plan.estimated);
    CHECK(plan.params_total == built.model->num_parameters());
    for (std::size_t i = 0; i < plan.layers.size(); ++i)
      CHECK(plan.layers[i].mixer.params == built.model->plan()[i].mixer_params);
    // The state: the last K-1 inputs of each shortconv layer.
    DecodeState state = built.model->make_decode_state(1);
    CHECK(std::int64_t(state.size_bytes()) == plan.cache_bytes);
  }
}
