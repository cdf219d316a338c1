// Training with the moe ffn: a small attention + MoE model learns the copy task, and on a
// setting prone to collapse (top-1 Switch routing, 8 experts) the expert load is far less
// balanced without a balance term than with switch_aux or aux_free_bias (measured: load CV
// 0.7-1.6 without, ~0.16 with switch_aux alpha = 0.01, 0.15-0.21 with aux_free_bias rate
// 1e-3, seeds 0 and 1). One thread: ctest runs tests side by side on the 2 cores, where
// multi-threaded training processes wait on each other's descheduled threads.
#include <string>

#include "catch.h"
#include "moe_registry.h"
#include "strata/experiment.h"
#include "strata/trainer.h"

using namespace strata;

namespace {

struct Outcome {
  double accuracy = 0;
  double load_cv = 0;  // mean over the two MoE layers, last logged step
};

Outcome train_copy(const std::string& balance) {
  const std::string text = R"(
[task]
type = "copy"
n_symbols = 16
copy_len = 16
n_blanks = 16

[model]
d_model = 64
n_layers = 2

[model.mixer.A]
type = "attention"
n_heads = 4

[model.ffn.E]
type = "moe"
n_experts = 8
top_k = 1
d_ff = 64
router = { type = "switch" }
balance = )" + balance + R"(

[train]
steps = 400
batch_size = 16
lr = 3e-3
warmup_steps = 40
schedule = "cosine"
eval_every = 400
eval_batches = 4
log_every = 50
seed = 0
threads = 1
)";
  Outcome out;
  TrainCallbacks callbacks;
  callbacks.on_record = [&](const MetricsRecord& r) {
    if (r.has("metric.layers.0.ffn.load_cv"))
      out.load_cv = (r.get("metric.layers.0.ffn.load_cv") + r.get("metric.layers.1.ffn.load_cv")) / 2;
  };
  const TrainSummary summary = test::train_experiment(text, "moe_copy.toml", test::moe_registry(), callbacks);
  out.accuracy = summary.final_eval.accuracy;
  return out;
}

}  // namespace

TEST_CASE("an attention + MoE model learns copy and switch_aux and aux_free_bias keep the experts balanced",
          "[moe][training]") {
  const Outcome none = train_copy("[]");
  const Outcome aux = train_copy(R"([{ type = "switch_aux", alpha = 0.01 }])");
  const Outcome bias = train_copy(R"([{ type = "aux_free_bias", rate = 1e-3 }])");
  INFO("no balance: accuracy " << none.accuracy << ", load CV " << none.load_cv);
  INFO("switch_aux: accuracy " << aux.accuracy << ", load CV " << aux.load_cv);
  INFO("aux_free_bias: accuracy " << bias.accuracy << ", load CV " << bias.load_cv);
  CHECK(none.accuracy > 0.9);  // chance: 1/16
  CHECK(aux.accuracy > 0.9);
  CHECK(bias.accuracy > 0.9);
  CHECK(aux.load_cv < 0.35);
  CHECK(bias.load_cv < 0.35);
  CHECK(none.load_cv > 2 * aux.load_cv);
  CHECK(none.load_cv > 2 * bias.load_cv);
}
