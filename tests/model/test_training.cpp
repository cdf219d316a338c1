// End-to-end training through the library: the loss falls, accuracy beats chance,
// runs are reproducible, and auxiliary losses reach the optimizer and the log.
#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "registry_helpers.h"
#include "strata/experiment.h"
#include "strata/trainer.h"

using namespace strata;

namespace {

// An ffn that adds an L2 auxiliary loss on its own weight (and logs a metric), to test
// that aux terms reach the gradient and the log.
class L2Ffn : public Ffn {
 public:
  L2Ffn(std::int64_t d, double coefficient, std::int64_t poison_at, DType dtype)
      : coefficient_(coefficient), poison_at_(poison_at) {
    w_ = register_parameter("w", Tensor::full({d}, 1.0, dtype));
  }
  Tensor forward(const Tensor& x, StepContext& ctx) override {
    ctx.add_aux_loss("l2", scale(sum(square(w_)), coefficient_));
    ctx.add_metric("calls", 1.0);
    const bool poison = ctx.training() && ++training_calls_ == poison_at_;
    return mul(x, scale(w_, poison ? INFINITY : 0.0));  // contributes nothing to the main loss, until poisoned
  }
  const Tensor& w() const { return w_; }

 private:
  Tensor w_;
  double coefficient_;
  std::int64_t poison_at_;
  std::int64_t training_calls_ = 0;
};

ComponentRegistry& registry() {
  static ComponentRegistry r;
  static bool ready = false;
  if (!ready) {
    test::add_builtins_and_example(r);
    ComponentSpec spec{ComponentKind::ffn, "l2_test", "test ffn with an aux loss", {}, {}};
    spec.schema.number("coefficient", 0.5, "aux loss weight");
    spec.schema.integer("poison_at", 0, "training forward at which the output becomes infinite (0: never)");
    r.add(std::move(spec), [](const Config& c, const BuildContext& ctx) -> std::unique_ptr<Component> {
      return std::make_unique<L2Ffn>(ctx.dims.d_model, c.number("coefficient"), c.integer("poison_at"), ctx.dtype);
    });
    ready = true;
  }
  return r;
}

const char* kTiny = R"(
[task]
type = "copy"
n_symbols = 4
copy_len = 4

[model]
d_model = 32
n_layers = 2

[model.mixer.C]
type = "shortconv"
kernel_size = 5

[model.ffn.F]
type = "mlp"

[train]
steps = 150
batch_size = 16
lr = 0.01
warmup_steps = 10
eval_every = 50
eval_batches = 4
log_every = 25
seed = 7
)";

// The tiny model with its second layer's ffn replaced by the l2_test ffn (`keys` are its own).
std::string with_l2_ffn(const std::string& keys) {
  return std::string(kTiny) + "\n[model.ffn.A]\ntype = \"l2_test\"\n" + keys + "\n[model.stack]\nffns = \"FA\"\n";
}

struct Run {
  TrainSummary summary;
  std::vector<MetricsRecord> records;
};

Run train_text(const std::string& text, std::vector<std::string> overrides = {}) {
  const Experiment e =
      Experiment::from_string(text, "tiny.toml", test::hermetic_options(std::move(overrides)), registry());
  const auto objects = build_experiment(e, registry());
  Run run;
  TrainCallbacks callbacks;
  callbacks.on_record = [&](const MetricsRecord& r) { run.records.push_back(r); };
  run.summary = train(*objects.model, *objects.task, *make_optimizer(e, registry(), *objects.model), e.train, callbacks);
  return run;
}

}  // namespace

TEST_CASE("training: a tiny copy model learns well beyond chance", "[training]") {
  const Run run = train_text(kTiny);
  INFO("initial eval loss " << run.summary.initial_eval.loss << ", final " << run.summary.final_eval.loss);
  CHECK(run.summary.final_eval.loss < 0.5 * run.summary.initial_eval.loss);
  CHECK(run.summary.final_eval.accuracy > 0.9);  // chance: 0.25
  // Records: every 25 steps, with eval at 50, 100, 150.
  REQUIRE(run.records.size() == 6);
  CHECK(run.records.back().step == 150);
  CHECK(run.records[1].has("eval_accuracy"));
  CHECK_FALSE(run.records[0].has("eval_accuracy"));
  for (const char* key : {"loss", "lr", "tokens_per_s", "grad_norm"}) CHECK(run.records[0].has(key));
}

TEST_CASE("training: train.precision = bf16 learns the tiny copy model too, through bf16 products", "[training][precision]") {
  const Run f32 = train_text(kTiny, {"train.steps=150"});
  const Run bf16 = train_text(kTiny, {"train.precision=\"bf16\""});
  INFO("final eval loss f32 " << f32.summary.final_eval.loss << ", bf16 " << bf16.summary.final_eval.loss);
  CHECK(bf16.summary.final_eval.accuracy > 0.9);  // chance: 0.25
  CHECK(bf16.summary.final_eval.loss < 0.5 * bf16.summary.initial_eval.loss);
  // the products really ran in bf16: the curve differs from f32's, but only by rounding at the start
  CHECK(bf16.records.back().get("loss") != f32.records.back().get("loss"));
  CHECK(std::abs(bf16.records[0].get("loss") - f32.records[0].get("loss")) < 0.05 * f32.records[0].get("loss"));
  REQUIRE_THROWS_WITH(train_text(kTiny, {"train.precision=\"f16\""}), Catch::Contains("train.precision"));
}

TEST_CASE("training: the same seed and threads give identical metrics", "[training]") {
  const Run a = train_text(kTiny, {"train.steps=30", "train.log_every=10"});
  const Run b = train_text(kTiny, {"train.steps=30", "train.log_every=10"});
  const Run c = train_text(kTiny, {"train.steps=30", "train.log_every=10", "train.seed=8"});
  REQUIRE(a.records.size() == b.records.size());
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    CHECK(a.records[i].get("loss") == b.records[i].get("loss"));
    CHECK(a.records[i].get("grad_norm") == b.records[i].get("grad_norm"));
  }
  CHECK(a.records.back().get("loss") != c.records.back().get("loss"));
}

TEST_CASE("training: gradient accumulation averages micro-batches", "[training]") {
  // With grad_accum = 2 each step sees two batches: same step count, twice the tokens;
  // the loss is an average, so it stays on the same scale.
  const Run one = train_text(kTiny, {"train.steps=20", "train.log_every=20", "train.eval_every=0"});
  const Run two =
      train_text(kTiny, {"train.steps=20", "train.log_every=20", "train.eval_every=0", "train.grad_accum=2"});
  CHECK(two.records.back().get("loss") == Approx(one.records.back().get("loss")).epsilon(0.3));
  CHECK(two.summary.final_eval.loss < two.summary.initial_eval.loss);
}

TEST_CASE("training: auxiliary losses reach the gradient and the log", "[training]") {
  const std::string text = with_l2_ffn("coefficient = 0.5");
  const Run run =
      train_text(text, {"train.steps=40", "train.log_every=20", "train.optimizer.weight_decay=0", "train.eval_every=0"});
  const MetricsRecord& first = run.records.front();
  // sum(w^2) starts at d_model = 32 with w = 1; the aux loss pulls w toward 0.
  REQUIRE(first.has("aux.layers.1.ffn.l2"));
  CHECK(first.get("aux.layers.1.ffn.l2") < 0.5 * 32);
  CHECK(run.records.back().get("aux.layers.1.ffn.l2") < first.get("aux.layers.1.ffn.l2"));
  CHECK(first.get("metric.layers.1.ffn.calls") == Approx(1.0));
}

TEST_CASE("training: a non-finite loss stops the run with an error naming the step", "[training]") {
  const std::string text = with_l2_ffn("poison_at = 3");
  CHECK_THROWS_WITH(train_text(text, {"train.eval_every=0"}),
                    Catch::Contains("training diverged at step 3: the loss is nan"));
}
