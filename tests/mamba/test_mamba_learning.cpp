// A small Mamba model (no ffn, no attention) learns the built-in copy task within
// seconds: each answer sits 16 tokens after its source, beyond what the short
// convolution sees, so the selective state must carry the data tokens.
//
// One thread: ctest -j runs this beside other tests, and with two multi-threaded
// processes on two cores the many small OpenMP regions of a step wait on descheduled
// threads (measured: 3.6 s alone on 2 threads, 90-240 s beside another test, near the
// 300 s timeout; 5-6 s on 1 thread).
#include "catch.h"
#include "mamba_registry.h"
#include "strata/experiment.h"
#include "strata/trainer.h"

using namespace strata;

TEST_CASE("a Mamba-only model learns the copy task", "[mamba][training]") {
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
type = "mamba"

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
  const TrainSummary summary = test::train_experiment(text, "mamba_copy.toml", test::mamba_registry());
  INFO("eval loss " << summary.initial_eval.loss << " -> " << summary.final_eval.loss << ", accuracy "
                    << summary.final_eval.accuracy);
  CHECK(summary.final_eval.loss < 0.1 * summary.initial_eval.loss);
  CHECK(summary.final_eval.accuracy > 0.9);  // chance: 1/8
}
