// Checkpoints of training runs: a run stopped and resumed from its checkpoint logs exactly
// what the uninterrupted run logs (a hybrid model with router noise and an aux-loss-free
// bias buffer (router jitter: the noise stream), gradient accumulation, a log window open at the stop); a killed writer
// leaves a loadable checkpoint; a diverging run names the step and the bad activation and
// keeps the last good checkpoint.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "jamba/hybrid_registry.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/safetensors.h"
#include "strata/trainer.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

const char* kRun = R"(
[task]
type = "copy"
n_symbols = 6
copy_len = 4
[model]
d_model = 16
n_layers = 2
[model.stack]
type = "jamba"
attn_layer_period = 2
attn_layer_offset = 1
[model.mixer.attention]
type = "attention"
n_heads = 2
[model.mixer.mamba]
type = "mamba"
d_state = 4
[model.ffn.mlp]
type = "mlp"
d_ff = 16
[model.ffn.moe]
type = "moe"
n_experts = 4
top_k = 2
d_ff = 8
router = { type = "softmax_topk", jitter = 0.05 }   # draws from the noise stream
balance = [{ type = "switch_aux" }, { type = "aux_free_bias", rate = 0.01 }]
[train]
steps = 24
batch_size = 4
grad_accum = 2
lr = 0.01
warmup_steps = 3
log_every = 4
eval_every = 8
eval_batches = 2
threads = 1
seed = 3
)";

// The logged values, without the timing ones.
std::vector<std::pair<std::int64_t, std::vector<std::pair<std::string, double>>>> logged(
    const std::vector<MetricsRecord>& records) {
  std::vector<std::pair<std::int64_t, std::vector<std::pair<std::string, double>>>> out;
  for (const MetricsRecord& r : records) {
    std::vector<std::pair<std::string, double>> values;
    for (const auto& [k, v] : r.values)
      if (k != "tokens_per_s") values.emplace_back(k, v);
    out.emplace_back(r.step, values);
  }
  return out;
}

}  // namespace

TEST_CASE("resume: a stopped and resumed run logs exactly what an uninterrupted run logs", "[checkpoint][resume]") {
  auto& registry = test::hybrid_registry();
  const Experiment e = Experiment::from_string(kRun, "resume.toml", test::hermetic_options(), registry);

  std::vector<MetricsRecord> straight;
  {
    const auto objects = build_experiment(e, registry);
    TrainCallbacks callbacks;
    callbacks.on_record = [&](const MetricsRecord& r) { straight.push_back(r); };
    const TrainSummary s = train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train, callbacks);
    CHECK(s.steps == 24);
    CHECK_FALSE(s.interrupted);
  }

  const fs::path folder = test::fresh_temp_dir("resume", "run") / "checkpoint";
  std::vector<MetricsRecord> resumed;
  {
    // Stop after step 10: in the middle of a log window (log_every 4).
    const auto objects = build_experiment(e, registry);
    TrainCallbacks callbacks;
    callbacks.on_record = [&](const MetricsRecord& r) { resumed.push_back(r); };
    std::int64_t steps_seen = 0;
    callbacks.on_step = [&](std::int64_t step, double, double) { steps_seen = step; };
    callbacks.stop_requested = [&] { return steps_seen >= 10; };
    callbacks.on_checkpoint = [&](const TrainingState& state) { save_checkpoint(folder, e, *objects.model, &state); };
    const TrainSummary s = train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train, callbacks);
    CHECK(s.interrupted);
    CHECK(s.steps == 10);
  }
  {
    LoadedCheckpoint c = load_checkpoint(folder, test::hermetic_options(), registry);
    const TrainingState state = load_training_state(folder);
    CHECK(state.step == 10);
    CHECK(state.window_steps == 2);
    TrainCallbacks callbacks;
    callbacks.on_record = [&](const MetricsRecord& r) { resumed.push_back(r); };
    const TrainSummary s = train(*c.model, *c.task, *make_optimizer(c.experiment, registry, *c.model), c.experiment.train, callbacks, &state);
    CHECK(s.steps == 24);
  }
  const auto a = logged(straight), b = logged(resumed);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("record at step " << a[i].first);
    CHECK(a[i].first == b[i].first);
    REQUIRE(a[i].second.size() == b[i].second.size());
    for (std::size_t j = 0; j < a[i].second.size(); ++j) {
      INFO(a[i].second[j].first);
      CHECK(a[i].second[j].first == b[i].second[j].first);
      CHECK(a[i].second[j].second == b[i].second[j].second);  // bit for bit
    }
  }
}

TEST_CASE("checkpoint: a writer killed at any moment leaves a loadable checkpoint", "[checkpoint]") {
  auto& registry = test::hybrid_registry();
  const Experiment e = Experiment::from_string(kRun, "resume.toml", test::hermetic_options(), registry);
  const auto objects = build_experiment(e, registry);
  const fs::path folder = test::fresh_temp_dir("killed", "run") / "checkpoint";
  // Version 0 exists; then a child process rewrites the checkpoint with versions 1, 2, ...
  // (every weight = the version) until it is killed.
  const auto set_version = [&](float v) {
    for (auto p : objects.model->named_parameters()) {
      float* data = p.tensor.data<float>();
      for (std::int64_t i = 0; i < p.tensor.numel(); ++i) data[i] = v;
    }
  };
  set_version(0);
  save_checkpoint(folder, e, *objects.model);
  for (int round = 0; round < 6; ++round) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (int v = 1;; ++v) {
        set_version(float(v));
        save_checkpoint(folder, e, *objects.model);
      }
    }
    usleep(useconds_t(3000 + 7000 * round));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    INFO("round " << round);
    LoadedCheckpoint c = load_checkpoint(folder, test::hermetic_options(), registry);
    // Every weight holds the same version: never a mix of two writes.
    float version = -1;
    for (const auto& p : c.model->named_parameters())
      for (float x : p.tensor.to_vector<float>()) {
        if (version < 0) version = x;
        REQUIRE(x == version);
      }
  }
}

TEST_CASE("checkpoint: recovery picks the complete folder after a crash between the renames", "[checkpoint]") {
  auto& registry = test::hybrid_registry();
  const Experiment e = Experiment::from_string(kRun, "resume.toml", test::hermetic_options(), registry);
  const auto objects = build_experiment(e, registry);
  const fs::path root = test::fresh_temp_dir("renames", "run");
  const fs::path folder = root / "checkpoint", fresh = root / "checkpoint.new", old = root / "checkpoint.old";
  save_checkpoint(old, e, *objects.model);
  // The new folder lacks manifest.json, written last: incomplete, so the old one is used.
  save_checkpoint(fresh, e, *objects.model);
  fs::remove(fresh / kCheckpointManifestFile);
  CHECK(resolve_checkpoint_folder(folder) == old);
  // Complete: the new one wins.
  save_checkpoint(fresh, e, *objects.model);
  CHECK(resolve_checkpoint_folder(folder) == fresh);
  CHECK_NOTHROW(load_checkpoint(folder, test::hermetic_options(), registry));
  // Once the folder itself exists, it is the one.
  save_checkpoint(folder, e, *objects.model);
  CHECK(resolve_checkpoint_folder(folder) == folder);
  CHECK_FALSE(fs::exists(folder.string() + ".new"));
  CHECK_THROWS_WITH(load_training_state(root / "nothing"), Catch::Contains("has no training state"));
}

TEST_CASE("checkpoint: snapshots keep the newest N, each complete and unchanged by later writes", "[checkpoint]") {
  auto& registry = test::hybrid_registry();
  const Experiment e = Experiment::from_string(kRun, "resume.toml", test::hermetic_options(), registry);
  const auto objects = build_experiment(e, registry);
  const fs::path root = test::fresh_temp_dir("snapshots", "run");
  const auto set_weights = [&](float v) {
    for (auto p : objects.model->named_parameters()) {
      float* data = p.tensor.data<float>();
      for (std::int64_t i = 0; i < p.tensor.numel(); ++i) data[i] = v;
    }
  };
  const auto first_weight = [&](const fs::path& folder) {
    LoadedCheckpoint c = load_checkpoint(folder, test::hermetic_options(), registry);
    return c.model->named_parameters().front().tensor.to_vector<float>().front();
  };
  // Steps 999998, 999999, 1000000: the seven-digit name is the newest, not the oldest.
  for (std::int64_t step : {std::int64_t(5), std::int64_t(999998), std::int64_t(999999), std::int64_t(1000000)}) {
    set_weights(float(step % 1000));
    save_checkpoint(root / "checkpoint", e, *objects.model);
    const fs::path snapshot = snapshot_checkpoint(root / "checkpoint", root / "checkpoints", step, 2);
    CHECK(fs::is_directory(snapshot));
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root / "checkpoints")) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"step-1000000", "step-999999"});
  // The rewritten checkpoint/ did not change the snapshot that shares its files' old versions.
  CHECK(first_weight(root / "checkpoints" / "step-999999") == 999.0f);
  CHECK(first_weight(root / "checkpoints" / "step-1000000") == 0.0f);
  CHECK(first_weight(root / "checkpoint") == 0.0f);
}

TEST_CASE("divergence: the error names the step and the first non-finite activation and the last checkpoint stays",
          "[checkpoint][errors]") {
  auto& registry = test::hybrid_registry();
  const Experiment e = Experiment::from_string(kRun, "diverge.toml", test::hermetic_options({"train.checkpoint_every=5"}),
                                               registry);
  const auto objects = build_experiment(e, registry);
  const fs::path folder = test::fresh_temp_dir("diverge", "run") / "checkpoint";
  TrainCallbacks callbacks;
  callbacks.on_checkpoint = [&](const TrainingState& state) { save_checkpoint(folder, e, *objects.model, &state); };
  // After step 7, poison layer 1's attention output projection.
  callbacks.on_step = [&](std::int64_t step, double, double) {
    if (step != 7) return;
    for (auto p : objects.model->named_parameters())
      if (p.name == "layers.1.mixer.o_proj.weight") p.tensor.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  };
  try {
    train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train, callbacks);
    FAIL("no error");
  } catch (const TrainingDivergedError& err) {
    const std::string message = err.what();
    CHECK(message.find("training diverged at step 8") != std::string::npos);
    CHECK(message.find("the first non-finite activation is the output of layers.1.mixer (attention)") !=
          std::string::npos);
  }
  CHECK(load_training_state(folder).step == 5);
}
