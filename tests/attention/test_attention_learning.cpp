// A small attention-only model learns the built-in copy task within seconds: copying
// needs each output to look a fixed distance back, which no per-token model can do.
#include "attention_registry.h"
#include "catch.h"
#include "strata/experiment.h"
#include "strata/trainer.h"

using namespace strata;

TEST_CASE("an attention-only model learns the copy task", "[attention][training]") {
  const char* text = R"(
[task]
type = "copy"
n_symbols = 8
copy_len = 8
n_blanks = 4

[model]
d_model = 32
n_layers = 2

[model.mixer.A]
type = "attention"
n_heads = 4

[model.ffn.F]
type = "mlp"

[train]
steps = 250
batch_size = 16
lr = 0.01
warmup_steps = 20
eval_every = 250
eval_batches = 4
log_every = 250
seed = 3
)";
  const TrainSummary summary = test::train_experiment(text, "attention_copy.toml", test::attention_registry());
  INFO("eval loss " << summary.initial_eval.loss << " -> " << summary.final_eval.loss << ", accuracy "
                    << summary.final_eval.accuracy);
  CHECK(summary.final_eval.loss < 0.3 * summary.initial_eval.loss);
  CHECK(summary.final_eval.accuracy > 0.95);  // chance: 1/8
}
