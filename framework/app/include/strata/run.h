#pragma once
// One training run in its run folder (run_folder.h), as `strata run`, --resume and each
// sweep variant do it: build, train, write config.toml, plan.txt, metrics.jsonl,
// checkpoints, final.json, the metrics tables and the report. SIGINT or SIGTERM during
// training checkpoints and stops after the current step (a second one ends the process).
//
//   RunHooks hooks;   // optional: a console's progress display
//   RunOutcome o = run_in_folder(experiment, registry, folder, {}, hooks);
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "strata/experiment.h"
#include "strata/registry.h"
#include "strata/checkpoint.h"
#include "strata/trainer.h"

namespace strata {

// What a run is about to do, for the caller's banner.
struct RunStart {
  std::filesystem::path folder;
  std::int64_t resumed_at = -1;  // the checkpoint's step when resuming, else -1
  std::int64_t parameters = 0;
  std::int64_t steps = 0;  // train.steps
  std::int64_t n_layers = 0;
  std::string task;        // the task's type
  std::int64_t vocab_size = 0;
  std::int64_t seq_len = 0;
  int threads = 0;
  int ranks = 1;  // data-parallel ranks (mpirun -np N)
  std::vector<MetricSeries> series;  // what the model's components declared (strata/telemetry.h)
};

// Observers of a run; all optional. on_step and on_record are the trainer's; on_end runs
// when training ends, however it ends (it must not throw).
struct RunHooks {
  std::function<void(const RunStart&)> on_start;
  std::function<void(std::int64_t step, double loss, double tokens_per_s)> on_step;
  std::function<void(const MetricsRecord&)> on_record;
  std::function<void()> on_end;
};

struct RunSettings {
  std::filesystem::path resume_checkpoint;  // empty: a fresh run
  CheckpointChecks resume_checks;           // what loading the resumed checkpoint may relax
  bool stop_on_sigint = true;               // SIGINT and SIGTERM checkpoint and stop
  bool check_memory = true;                 // refuse a training step estimated not to fit (memory_guard.h)
  // The data-parallel group (strata/distributed.h's open_world() under mpirun); null: one
  // process. Every rank calls run_in_folder with the same folder; rank 0 alone writes it
  // (config, metrics, checkpoints, report) and calls the hooks; a resume reads it on every
  // rank, so the ranks must see one file system.
  Communicator* group = nullptr;
};

struct RunOutcome {
  TrainSummary summary;
  std::int64_t parameters = 0;
  double chance_accuracy = 0;
  bool perplexity = false;
  std::size_t peak_memory_bytes = 0;  // tensor memory high-water mark during training
  // A decoding probe after training (one sequence, a prompt from the evaluation set, 64 new
  // tokens); 0 when the model cannot decode.
  double decode_tokens_per_s = 0;
  std::size_t decode_cache_bytes = 0;
  // Decode state of one sequence after a prompt of the task's length (KV cache, conv and
  // SSM states): the recurrent state size of Zoology's comparisons.
  std::size_t decode_state_bytes = 0;
  int stop_signal = 0;  // SIGINT or SIGTERM when that stopped training (summary.interrupted)
};

// runs/<name>-<timestamp> under [run] out_dir (a folder that does not exist yet).
std::filesystem::path default_run_folder(const Experiment& e);
// Creates a run (or sweep) folder. A folder that exists and is not empty is refused with a
// ConfigError naming `source` (--out, [run] out_dir), unless `overwrite` and it holds a
// strata run or sweep, which is then emptied (after taking its lock, so never under a
// running process). ConfigError too when it cannot be created.
void create_run_folder(const std::filesystem::path& folder, const std::string& source, bool overwrite = false);

// train.device, checked against this build and machine: a ConfigError at the key when this
// strata has no CUDA or the GPU is not visible (run_in_folder checks it too; callers check
// first so that a run that cannot start leaves no folder behind).
Device training_device(const Experiment& e);

// Trains `e` in `folder` (which exists), holding its FolderLock (folder_lock.h: a second
// process writing the same folder gets FolderBusyError); resumes from settings.resume_checkpoint when set
// (metrics after the checkpoint's step are dropped). Throws TrainingDivergedError after
// writing the tables and report up to the failure (the checkpoint before it is kept).
RunOutcome run_in_folder(const Experiment& e, const ComponentRegistry& registry, const std::filesystem::path& folder,
                         const RunSettings& settings = {}, const RunHooks& hooks = {});

}  // namespace strata
