// The extension points, exercised end to end through a plugin that lives under tests/
// (tests/extension_plugin) and needed no change in framework/: an optimizer that trains
// and resumes, a block layout that trains and decodes, a mixer whose declared telemetry
// the trainer reduces and the report draws, and a Hugging Face architecture of that mixer
// that export-hf writes and import-hf reads back.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "plugin_registry.h"
#include "strata/checkpoint.h"
#include "strata/hf.h"
#include "strata/plugin.h"
#include "strata/run.h"
#include "strata/run_folder.h"
#include "strata/testing/component_check.h"
#include "strata/safetensors.h"
#include "strata/trainer.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

ComponentRegistry& registry() {
  static ComponentRegistry r;
  static const bool ready = (test::add_builtins_and_plugins(r, {STRATA_EXAMPLE_PLUGIN, STRATA_EXTENSION_PLUGIN}), true);
  (void)ready;
  return r;
}

// A copy task on shortconv layers (example plugin): learns within a few hundred steps.
std::string experiment(const std::string& extra_model, const std::string& extra_train) {
  return R"(
[task]
type = "copy"
n_symbols = 4
copy_len = 4
[model]
d_model = 16
n_layers = 2
)" + extra_model + R"(
[model.mixer.C]
type = "shortconv"
kernel_size = 5
[model.ffn.F]
type = "mlp"
d_ff = 32
[train]
batch_size = 16
lr = 0.01
warmup_steps = 5
log_every = 5
eval_every = 0
eval_batches = 2
threads = 1
seed = 2
)" + extra_train;
}

std::vector<std::pair<std::int64_t, double>> losses(const std::vector<MetricsRecord>& records) {
  std::vector<std::pair<std::int64_t, double>> out;
  for (const MetricsRecord& r : records) out.emplace_back(r.step, r.get("loss"));
  return out;
}

}  // namespace

TEST_CASE("extension optimizer: sgd_momentum takes torch.optim.SGD's steps", "[extension][optim]") {
  Generator gen(1);
  BuildContext ctx;
  ctx.gen = &gen;
  ctx.registry = &registry();
  const Config config = testing::component_config(registry(), ComponentKind::optimizer, "sgd_momentum",
                                                   {"momentum=0.5", "nesterov=true", "weight_decay=0.1"});
  auto opt = registry().create<Optimizer>(config, ctx);
  Tensor a = Tensor::from_vector(std::vector<double>{1.0, -2.0}, {2}).requires_grad_();
  Tensor b = Tensor::from_vector(std::vector<double>{3.0}, {1}).requires_grad_();
  opt->set_parameters({{"a", a, true}, {"b", b, false}});
  // By hand, lr 0.1: step 1: buf = g; d = g + 0.5 buf; p = p (1 - 0.01 [a only]) - 0.1 d.
  const std::vector<double> ga1 = {0.4, 1.0}, ga2 = {-0.2, 0.6}, gb = {2.0};
  std::vector<double> pa = {1.0, -2.0}, buf(2);
  for (int step = 1; step <= 2; ++step) {
    const std::vector<double>& g = step == 1 ? ga1 : ga2;
    a.set_grad(Tensor::from_vector(g, {2}));
    b.set_grad(Tensor::from_vector(gb, {1}));
    opt->step(0.1);
    for (int i = 0; i < 2; ++i) {
      buf[i] = step == 1 ? g[i] : 0.5 * buf[i] + g[i];
      pa[i] = pa[i] * (1 - 0.1 * 0.1) - 0.1 * (g[i] + 0.5 * buf[i]);
    }
  }
  const std::vector<double> got = a.to_vector<double>();
  CHECK(got[0] == Approx(pa[0]).epsilon(1e-14));
  CHECK(got[1] == Approx(pa[1]).epsilon(1e-14));
  // b is exempt from decay: 3 - 0.1 (2 + 0.5 * 2), then buf = 0.5 * 2 + 2 = 3: - 0.1 (2 + 1.5).
  CHECK(b.to_vector<double>()[0] == Approx(3.0 - 0.3 - 0.35).epsilon(1e-14));
  CHECK(opt->steps_taken() == 2);
  const auto state = opt->state();
  REQUIRE(state.size() == 2);
  CHECK(state[0].first == "momentum.a");
  CHECK(state[1].first == "momentum.b");
}

TEST_CASE("extension optimizer: a model trains with sgd_momentum and resumes exactly", "[extension][optim][resume]") {
  const std::string text = experiment("", "steps = 30\noptimizer = { type = \"sgd_momentum\", momentum = 0.9 }\n");
  const Experiment e = Experiment::from_string(text, "sgd.toml", test::hermetic_options(), registry());

  std::vector<MetricsRecord> straight;
  {
    const auto objects = build_experiment(e, registry());
    TrainCallbacks callbacks;
    callbacks.on_record = [&](const MetricsRecord& r) { straight.push_back(r); };
    const TrainSummary s = train(*objects.model, *objects.task, *make_optimizer(e, registry(), *objects.model), e.train, callbacks);
    CHECK(s.final_train_loss < 0.8 * std::log(4.0 + 2));  // learned something below uniform guessing
  }
  const fs::path folder = test::fresh_temp_dir("extension", "sgd") / "checkpoint";
  std::vector<MetricsRecord> resumed;
  {
    const auto objects = build_experiment(e, registry());
    TrainCallbacks callbacks;
    callbacks.on_record = [&](const MetricsRecord& r) { resumed.push_back(r); };
    std::int64_t seen = 0;
    callbacks.on_step = [&](std::int64_t step, double, double) { seen = step; };
    callbacks.stop_requested = [&] { return seen >= 12; };
    callbacks.on_checkpoint = [&](const TrainingState& state) { save_checkpoint(folder, e, *objects.model, &state); };
    train(*objects.model, *objects.task, *make_optimizer(e, registry(), *objects.model), e.train, callbacks);
  }
  // The checkpoint holds the plugin optimizer's own state under its own names.
  CHECK(safetensors::Reader(folder / kCheckpointOptimizerFile).find("momentum.layers.0.mixer.conv_weight") != nullptr);
  {
    LoadedCheckpoint c = load_checkpoint(folder, test::hermetic_options(), registry());
    const TrainingState state = load_training_state(folder);
    CHECK(state.optimizer_type == "sgd_momentum");
    TrainCallbacks callbacks;
    callbacks.on_record = [&](const MetricsRecord& r) { resumed.push_back(r); };
    train(*c.model, *c.task, *make_optimizer(c.experiment, registry(), *c.model), c.experiment.train, callbacks, &state);

    // Resuming with another optimizer is refused, naming both.
    const Experiment adamw = Experiment::from_string(experiment("", "steps = 30\n"), "adamw.toml", test::hermetic_options(), registry());
    CHECK_THROWS_WITH(train(*c.model, *c.task, *make_optimizer(adamw, registry(), *c.model), adamw.train, {}, &state),
                      Catch::Contains("cannot resume with optimizer 'adamw'") && Catch::Contains("'sgd_momentum'"));
  }
  CHECK(losses(straight) == losses(resumed));  // bit for bit
}

TEST_CASE("extension block: parallel and post-norm layouts train and decode as they forward", "[extension][block]") {
  for (const char* block : {"{ type = \"parallel\" }", "{ type = \"parallel\", post_norm = true }"}) {
    INFO(block);
    const std::string text = experiment(std::string("block = ") + block + "\n", "steps = 60\n");
    const Experiment e = Experiment::from_string(text, "block.toml", test::hermetic_options(), registry());
    const auto objects = build_experiment(e, registry(), DType::f64);
    Model& model = *objects.model;
    // The block's own parameters sit beside the parts, which keep their names.
    bool has_norm = false, has_mixer = false, has_ffn = false;
    for (const NamedParameter& p : model.named_parameters()) {
      has_norm |= p.name == "layers.1.norm.weight";
      has_mixer |= p.name == "layers.1.mixer.conv_weight";
      has_ffn |= p.name.rfind("layers.1.ffn.", 0) == 0;
    }
    CHECK((has_norm && has_mixer && has_ffn));
    CHECK(model.plan()[0].block_type == "parallel");

    // Decoding token by token equals the full-sequence forward.
    model.train(false);
    Generator gen(5);
    const Tensor ids = Tensor::randint({2, 7}, 0, model.dims().vocab_size, gen);
    StepContext ctx(false);
    const Tensor full = model.forward(ids, ctx);
    DecodeState state = model.make_decode_state(2);
    std::vector<Tensor> steps;
    for (std::int64_t t = 0; t < 7; ++t) steps.push_back(model.forward_step(slice(ids, 1, t, t + 1), state, ctx));
    STRATA_REQUIRE_CLOSE(concat(steps, 1), full, 1e-12, 1e-12);

    // It learns: the loss after 60 steps is well below the first one.
    const auto f32 = build_experiment(e, registry());
    const TrainSummary s = train(*f32.model, *f32.task, *make_optimizer(e, registry(), *f32.model), e.train);
    CHECK(s.final_eval.loss < 0.7 * s.initial_eval.loss);
  }
}

TEST_CASE("extension block: a block that does not register its parts is refused", "[extension][block][errors]") {
  const std::string text = experiment("block = { type = \"parallel\", register_parts = false }\n", "steps = 5\n");
  const Experiment e = Experiment::from_string(text, "bad.toml", test::hermetic_options(), registry());
  CHECK_THROWS_WITH(build_experiment(e, registry()),
                    Catch::Contains("did not register its mixer as \"mixer\"") &&
                        Catch::Contains("register_module(\"mixer\", parts.mixer)"));
}

TEST_CASE("extension mixer: token_shift passes the component checks", "[extension][telemetry]") {
  const Config config = testing::component_config(registry(), ComponentKind::mixer, "token_shift", {});
  const testing::CheckReport report = testing::check_component(registry(), ComponentKind::mixer, config, {});
  INFO(report.to_string());
  CHECK(report.passed());
}

TEST_CASE("extension mixer: declared telemetry is reduced over each window as declared and drawn",
          "[extension][telemetry]") {
  // The same training twice: logged every step, and every 5 steps.
  const auto run = [&](int log_every, const std::string& name) {
    std::string t = experiment("", "steps = 10\ngrad_accum = 2\n");
    const std::string from = "type = \"shortconv\"\nkernel_size = 5";
    t.replace(t.find(from), from.size(), "type = \"token_shift\"");
    const Experiment e = Experiment::from_string(
        t, name + ".toml", test::hermetic_options({"train.log_every=" + std::to_string(log_every)}), registry());
    const fs::path folder = test::fresh_temp_dir("extension", name);
    run_in_folder(e, registry(), folder);
    return folder;
  };
  const fs::path every = run(1, "every_step"), fifth = run(5, "every_fifth");
  const run_folder::MetricsLog a = run_folder::read_metrics(every), b = run_folder::read_metrics(fifth);
  REQUIRE(b.declared);
  // Both layers' mixers declared all four series, scoped.
  for (const char* name : {"gate", "gate_mean", "input_rms", "forwards"})
    for (const char* scope : {"layers.0.mixer", "layers.1.mixer"}) {
      INFO(scope << "." << name);
      CHECK(std::any_of(b.series.begin(), b.series.end(),
                        [&](const MetricSeries& s) { return s.name == name && s.scope == scope; }));
    }
  REQUIRE(a.records.size() == 10);
  REQUIRE(b.records.size() == 2);
  const std::string p = "metric.layers.1.mixer.";
  for (int w = 0; w < 2; ++w) {
    const MetricsRecord& window = b.records[std::size_t(w)];
    double mean = 0, max = -1;
    for (int i = 0; i < 5; ++i) {
      const MetricsRecord& step = a.records[std::size_t(5 * w + i)];
      mean += step.get(p + "gate_mean") / 5;
      max = std::max(max, step.get(p + "input_rms"));
    }
    const MetricsRecord& last = a.records[std::size_t(5 * w + 4)];
    INFO("window " << w);
    CHECK(window.get(p + "forwards") == 5.0);                             // sum: one per step
    CHECK(window.get(p + "gate_mean") == Approx(mean).epsilon(1e-12));    // mean over the steps
    CHECK(window.get(p + "input_rms") == max);                            // max over the steps
    for (int bin = 0; bin < 4; ++bin)                                     // last: the final step's
      CHECK(window.get(p + "gate." + std::to_string(bin)) == last.get(p + "gate." + std::to_string(bin)));
  }
  // The report draws what the plugin declared, by its declarations.
  std::ifstream in(fifth / run_folder::kReportFile);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(html.find("layer 1 mixer: value gate over steps") != std::string::npos);
  CHECK(html.find("gate_mean over steps") != std::string::npos);
  CHECK(html.find("training forwards (1 per step); each point is") == std::string::npos);  // not a headline
}

TEST_CASE("strata check covers blocks and optimizers, and catches the broken ones", "[extension][check]") {
  const auto check = [](ComponentKind kind, const std::string& type, const std::vector<std::string>& keys) {
    return testing::check_component(registry(), kind, testing::component_config(registry(), kind, type, keys), {});
  };
  for (const auto& [type, keys] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"prenorm", {}}, {"prenorm", {"residual_multiplier=0.5"}}, {"parallel", {}}, {"parallel", {"post_norm=true"}}}) {
    const testing::CheckReport r = check(ComponentKind::block, type, keys);
    INFO(r.to_string());
    CHECK(r.passed());
    CHECK(r.items.size() == 6);  // build, forward, gradient, causality, packed documents, decoding
    for (const testing::CheckItem& item : r.items) CHECK_FALSE(item.skipped);
  }
  for (const std::string& type : {"adamw", "sgd_momentum"}) {
    const testing::CheckReport r = check(ComponentKind::optimizer, type, {});
    INFO(r.to_string());
    CHECK(r.passed());
  }
  // An optimizer whose state() hands out copies cannot be resumed: the check says so.
  const testing::CheckReport copies = check(ComponentKind::optimizer, "sgd_momentum", {"live_state=false"});
  CHECK_FALSE(copies.passed());
  CHECK(copies.to_string().find("FAIL the saved state resumes bit for bit") != std::string::npos);
  // A block that leaves its parts unregistered fails at build.
  const testing::CheckReport unregistered = check(ComponentKind::block, "parallel", {"register_parts=false"});
  CHECK_FALSE(unregistered.passed());
  CHECK(unregistered.to_string().find("did not register its mixer") != std::string::npos);
}

// ---- Hugging Face mapping ------------------------------------------------------------------

namespace {

const char* kTokenShiftModel = R"(
[model]
d_model = 16
n_layers = 2
vocab_size = 12
init_std = 0.5
[model.mixer.shift]
type = "token_shift"
[model.ffn.mlp]
type = "mlp"
d_ff = 24
bias = true
)";

nlohmann::json read_json(const fs::path& file) { return nlohmann::json::parse(std::ifstream(file)); }

Tensor forward_logits(const fs::path& checkpoint, const Tensor& ids) {
  LoadedCheckpoint c = load_checkpoint(checkpoint, test::hermetic_options(), registry());
  autograd::NoGradGuard no_grad;
  StepContext ctx(false);
  return c.model->forward(ids, ctx);
}

}  // namespace

TEST_CASE("extension hf: a plugin's own architecture exports and imports back to the same model", "[extension][hf]") {
  const fs::path dir = test::fresh_temp_dir("extension", "hf");
  const Experiment e = Experiment::from_string(kTokenShiftModel, (dir / "model.toml").string(), test::hermetic_options(),
                                               registry());
  const auto objects = build_experiment(e, registry());
  save_checkpoint(dir / "strata", e, *objects.model);

  CHECK(export_hf(dir / "strata", dir / "hf", registry(), test::hermetic_options()) == "TokenShiftForCausalLM");
  const nlohmann::json config = read_json(dir / "hf" / "config.json");
  CHECK(config["architectures"] == nlohmann::json::array({"TokenShiftForCausalLM"}));
  CHECK(config["model_type"] == "token_shift");
  CHECK(config["shift_gate"] == "sigmoid");
  CHECK(config["intermediate_size"] == 24);  // the built-in mlp's own mapping
  CHECK(config["mlp_bias"] == true);
  CHECK(config["norm_epsilon"] == 1e-5);
  const safetensors::Reader weights(dir / "hf" / "model.safetensors");
  const auto shape = [&](const std::string& name) {
    const auto* info = weights.find(name);
    INFO(name);
    REQUIRE(info != nullptr);
    return info->shape;
  };
  CHECK(shape("model.layers.1.shift.time_mix") == Shape{1, 16});  // strata's [D] mix, unsqueezed
  CHECK(shape("model.layers.0.shift.previous.weight") == Shape{16, 16});
  CHECK(shape("model.layers.0.shift.output.weight") == Shape{16, 16});
  CHECK(shape("model.layers.0.mlp.up_proj.bias") == Shape{24});  // strata's fused [gate; up] bias, split
  CHECK(shape("model.layers.1.mlp_norm.weight") == Shape{16});
  CHECK(weights.tensors().size() == 2 + 2 * (4 + 2 + 6));  // embedding, final norm; per layer mixer, norms, mlp

  const HfImportResult r = import_hf(dir / "hf", dir / "back", registry(), test::hermetic_options());
  CHECK(r.architecture == "TokenShiftForCausalLM");
  CHECK(r.parameters == objects.model->num_parameters());
  const Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{1, 5, 2, 11, 3, 0, 7, 4}, {2, 4});
  STRATA_REQUIRE_CLOSE(forward_logits(dir / "back", ids), forward_logits(dir / "strata", ids), 0, 0);

  SECTION("config.json keys the mapping refuses are named") {
    nlohmann::json changed = config;
    changed["shift_gate"] = "tanh";
    std::ofstream(dir / "hf" / "config.json") << changed.dump(2);
    CHECK_THROWS_WITH(import_hf(dir / "hf", dir / "refused", registry(), test::hermetic_options()),
                      Catch::Contains("\"shift_gate\" must be \"sigmoid\"") && Catch::Contains("config.json"));
    CHECK(!fs::exists(dir / "refused"));
  }
  SECTION("a setting the architecture lacks is refused at export") {
    std::string gelu = kTokenShiftModel;
    gelu += "activation = \"gelu\"\n";
    const Experiment g = Experiment::from_string(gelu, (dir / "gelu.toml").string(), test::hermetic_options(), registry());
    save_checkpoint(dir / "gelu", g, *build_experiment(g, registry()).model);
    CHECK_THROWS_WITH(export_hf(dir / "gelu", dir / "gelu_hf", registry(), test::hermetic_options()),
                      Catch::Contains("no Hugging Face counterpart (TokenShiftForCausalLM)") &&
                          Catch::Contains("must use activation = swiglu"));
  }
}

TEST_CASE("extension hf: a second mapping of one architecture or component is refused", "[extension][hf][errors]") {
  ComponentRegistry r;
  register_builtin_components(r);
  hf::ComponentMapping mlp;
  mlp.kind = ComponentKind::ffn;
  mlp.type = "mlp";
  CHECK_THROWS_WITH(r.add_hf_component(mlp), Catch::Contains("mapping of ffn 'mlp' for every architecture is already registered"));
  hf::ArchitectureMapping a;
  a.name = "TokenShiftForCausalLM";
  CHECK_NOTHROW(r.add_hf_architecture(a));
  CHECK_THROWS_WITH(r.add_hf_architecture(a), Catch::Contains("TokenShiftForCausalLM is already registered"));
  PluginRegistrar registrar;
  CHECK_THROWS_WITH(registrar.add_hf_architecture(a), Catch::Contains("needs a name and a model_type"));
  a.model_type = "x";
  a.mixers = {"token_shift"};
  a.norm_eps_key = "norm_epsilon";
  CHECK_THROWS_WITH(registrar.add_hf_architecture(a), Catch::Contains("composes 'token_shift' but names no module"));
}
