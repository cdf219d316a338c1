#pragma once
// The tiny experiment the run tests train: a one-layer shortconv model (the example plugin)
// on the copy task, a few hundred milliseconds per run. `extra_train` adds [train] lines.
#include <cstdint>
#include <string>

#include "helpers.h"
#include "registry_helpers.h"
#include "strata/experiment.h"

namespace strata::test {

inline Experiment tiny_run(std::int64_t steps, const std::string& extra_train = "") {
  const std::string text = R"(
[task]
type = "copy"
n_symbols = 4
copy_len = 4
[model]
d_model = 16
n_layers = 1
[model.mixer.C]
type = "shortconv"
[train]
batch_size = 8
lr = 0.01
log_every = 5
eval_every = 10
eval_batches = 1
threads = 1
steps = )" + std::to_string(steps) + "\n" + extra_train + "\n";
  return Experiment::from_string(text, "tiny.toml", test::hermetic_options(), test::example_registry());
}


}  // namespace strata::test
