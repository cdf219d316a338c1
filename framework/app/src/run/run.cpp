#include "strata/run.h"

#include <array>
#include <atomic>
#include <csignal>
#include <ctime>
#include <fstream>
#include <optional>

#include "distributed/sharded_parameters.h"
#include "run/outcome_json.h"
#include "strata/allocator.h"
#include "strata/autograd.h"
#include "strata/atomic_file.h"
#include "strata/checkpoint.h"
#include "strata/folder_lock.h"
#include "strata/memory_guard.h"
#include "strata/generate.h"
#include "strata/report.h"
#include "strata/run_folder.h"
#include "strata/runtime.h"

namespace strata {

namespace fs = std::filesystem;

namespace {

// Set by SIGINT or SIGTERM (what schedulers such as Slurm send before they kill a job), or
// SIGUSR1 (what Open MPI's mpirun forwards to its ranks; it ends the job itself on SIGTERM):
// the trainer checkpoints and stops after the current step. The handler restores the
// default action at once, so a second signal ends the process.
std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int signal) {
  g_stop_signal.store(signal);
  std::signal(signal, SIG_DFL);
}

class StopSignalScope {
 public:
  explicit StopSignalScope(bool active) : active_(active) {
    g_stop_signal.store(0);
    if (!active_) return;
    for (std::size_t i = 0; i < kSignals.size(); ++i) previous_[i] = std::signal(kSignals[i], on_stop_signal);
  }
  ~StopSignalScope() {
    if (!active_) return;
    for (std::size_t i = 0; i < kSignals.size(); ++i) std::signal(kSignals[i], previous_[i]);
  }
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGUSR1};
  bool active_;
  std::array<void (*)(int), 3> previous_{SIG_DFL, SIG_DFL, SIG_DFL};
};

// Decoding speed and cache size of the trained model: one sequence, an evaluation prompt,
// 64 new tokens; and the decode state after the prompt alone (the task's sequence length:
// what a recurrent model carries, what attention caches). Models whose mixers cannot decode
// report 0.
void probe_decoding(Model& model, Task& task, RunOutcome& outcome) {
  try {
    const Batch batch = task.eval_batch(0, 1);
    {
      autograd::NoGradGuard no_grad;
      StepContext ctx(false);
      DecodeState state = model.make_decode_state(1);
      model.forward_step(batch.inputs.to(model.device()), state, ctx);
      outcome.decode_state_bytes = state.size_bytes();
    }
    GenerateOptions options;
    options.max_new_tokens = 64;
    Generator gen(0);
    const GenerateResult r = generate(model, batch.inputs, options, gen);
    outcome.decode_tokens_per_s = r.decode_seconds > 0 ? double(r.decoded_tokens) / r.decode_seconds : 0.0;
    outcome.decode_cache_bytes = r.cache_bytes;
  } catch (const NotImplementedError&) {
  }
}

void write_final_json(const fs::path& folder, const RunOutcome& outcome) {
  write_text_atomically(folder / run_folder::kFinalFile, outcome_json(outcome).dump(2) + "\n");
}

}  // namespace

Device training_device(const Experiment& e) {
  try {
    const Device device = parse_device(e.train.string("device"));
    check_available(device);
    return device;
  } catch (const Error& bad) {
    throw e.train.error("device", bad.message(), bad.hint());
  }
}

fs::path default_run_folder(const Experiment& e) {
  std::string name = e.run.string("name");
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    throw e.run.error("name", "must be a plain folder name (no '/', not . or ..)",
                      "choose the parent folder with out_dir or --out");
  }
  if (name.empty()) name = e.file.stem().string();
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  fs::path base = fs::path(e.run.string("out_dir")) / (name + "-" + stamp);
  fs::path folder = base;
  for (int i = 2; fs::exists(folder); ++i) folder = base.string() + "-" + std::to_string(i);
  return folder;
}

namespace {

// Whether `folder` holds what strata writes (a run or a sweep), as opposed to user files.
bool holds_strata_output(const fs::path& folder) {
  std::error_code ec;
  for (const char* name : {run_folder::kConfigFile, run_folder::kMetricsFile, run_folder::kCheckpointFolder,
                           run_folder::kSweepSummaryCsv, kFolderLockFile})
    if (fs::exists(folder / name, ec)) return true;
  return false;
}

}  // namespace

void create_run_folder(const fs::path& folder, const std::string& source, bool overwrite) {
  std::error_code ec;
  if (fs::is_directory(folder, ec) && !fs::is_empty(folder, ec)) {
    if (!overwrite) {
      throw ConfigError(SourceLocation{source}, "",
                        folder.string() + " is not empty" +
                            (holds_strata_output(folder) ? " (it holds an earlier run or sweep)" : ""),
                        "continue a run with --resume " + folder.string() +
                            ", choose a new folder, or pass --overwrite to delete what is there first");
    }
    if (!holds_strata_output(folder))
      throw ConfigError(SourceLocation{source}, "",
                        folder.string() + " holds files that are not a strata run or sweep; --overwrite only "
                                          "replaces strata's own folders",
                        "choose a new or empty folder");
    const FolderLock lock(folder);  // never delete a folder another process is writing
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      if (entry.path().filename() == kFolderLockFile) continue;
      fs::remove_all(entry.path(), ec);
      if (ec) throw Error("--overwrite: cannot delete " + entry.path().string() + ": " + ec.message());
    }
  }
  fs::create_directories(folder, ec);
  if (ec) {
    throw ConfigError(SourceLocation{source}, "", "cannot create run folder " + folder.string() + ": " + ec.message(),
                      "choose a folder that can be created (not an existing file)");
  }
}

RunOutcome run_in_folder(const Experiment& e, const ComponentRegistry& registry, const fs::path& folder,
                         const RunSettings& settings, const RunHooks& hooks) {
  if (!e.has_task()) {
    throw ConfigError(SourceLocation{e.file.string()}, "task", "the experiment has no [task] to train on",
                      "add a [task] section (e.g. type = \"copy\"); model-only files are for inspect, generate and "
                      "export");
  }
  // Rank 0 writes the folder (one writer, holding its lock); other ranks only train.
  const bool writer = settings.group == nullptr || settings.group->rank() == 0;
  if (const std::int64_t asked = e.train.integer("ranks_per_run");
      settings.group != nullptr && asked > 0 && asked != settings.group->size())
    throw e.train.error("ranks_per_run",
                        "asks for " + std::to_string(asked) + " ranks, but this run has " +
                            std::to_string(settings.group->size()),
                        "start it with mpirun -np " + std::to_string(asked) + ", or set ranks_per_run = 0");
  const Device device = training_device(e);
  if (!device.is_cpu() && settings.group != nullptr && settings.group->size() > 1)
    throw e.train.error("device",
                        "is " + device.to_string() + ", but data parallelism over MPI sums gradients in host memory "
                        "(a GPU communicator, NCCL, does not exist yet)",
                        "train multi-rank jobs on the cpu, or a single process on the GPU");
  std::optional<FolderLock> lock;  // released however this ends
  if (writer) lock.emplace(folder);
  if (e.train.integer("threads") > 0) set_num_threads(static_cast<int>(e.train.integer("threads")));
  if (settings.check_memory) require_training_fits(e, registry);
  // Every rank builds the model (an expert-parallel layer splits the group and keeps its block).
  const ExperimentObjects objects = build_experiment(e, registry, DType::f32, settings.group);
  Model& model = *objects.model;

  TrainingState resume_state;
  const bool resuming = !settings.resume_checkpoint.empty();
  if (resuming) {
    // The state first: it verifies the checkpoint's manifest.
    resume_state = load_training_state(settings.resume_checkpoint, settings.resume_checks);
    load_model_weights(model, resolve_checkpoint_folder(settings.resume_checkpoint) / kCheckpointWeightsFile,
                       settings.resume_checks);
    if (writer) run_folder::truncate_metrics(folder, resume_state.step);
  } else if (writer) {
    write_text_atomically(folder / run_folder::kConfigFile, e.resolved_toml());
    write_text_atomically(folder / run_folder::kPlanFile, model.describe());
  }
  // Built and loaded on the CPU (checkpoints do not depend on the device), then moved; the
  // optimizer's state is made where the parameters are.
  model.to(device);
  std::optional<run_folder::LineAppender> metrics;
  if (writer) {
    metrics.emplace(folder / run_folder::kMetricsFile, !resuming);
    if (!resuming) metrics->append(run_folder::series_line(model.metric_series()));
  }
  const RunHooks& active_hooks = writer ? hooks : RunHooks{};
  // The whole model's size, also when this rank holds only a block of its experts.
  const std::vector<NamedParameter> parameters = model.named_parameters();
  const std::int64_t parameter_count = full_parameter_count(parameters);
  if (active_hooks.on_start) {
    active_hooks.on_start(RunStart{folder, resuming ? resume_state.step : -1, parameter_count,
                                   e.train.integer("steps"), e.model.integer("n_layers"), e.task.type(),
                                   objects.task->vocab_size(), objects.task->seq_len(), num_threads(),
                                   settings.group ? settings.group->size() : 1, model.metric_series()});
  }
  TrainCallbacks callbacks;
  // A failed write (a full disk) stops training like a signal: the trainer then writes its
  // checkpoint, and the run ends with the error. The log keeps its complete lines.
  std::string write_failure;
  const std::int64_t keep_checkpoints = e.train.integer("keep_checkpoints");
  if (writer) {
    callbacks.on_step = active_hooks.on_step;
    callbacks.on_record = [&](const MetricsRecord& r) {
      if (!write_failure.empty()) return;
      try {
        metrics->append(run_folder::metrics_line(r));
      } catch (const Error& failure) {
        write_failure = failure.message() + " at step " + std::to_string(r.step);
        return;
      }
      if (active_hooks.on_record) active_hooks.on_record(r);
    };
    callbacks.on_checkpoint = [&](const TrainingState& state) {
      save_checkpoint(folder / run_folder::kCheckpointFolder, e, model, &state, objects.task->tokenizer());
      if (keep_checkpoints > 0)
        snapshot_checkpoint(folder / run_folder::kCheckpointFolder, folder / run_folder::kSnapshotsFolder, state.step,
                            keep_checkpoints);
    };
  }
  callbacks.stop_requested = [&] { return g_stop_signal.load() != 0 || !write_failure.empty(); };

  RunOutcome outcome;
  outcome.parameters = parameter_count;
  outcome.chance_accuracy = objects.task->chance_accuracy();
  outcome.perplexity = objects.task->reports_perplexity();
  Allocator& memory = allocator_for(device);
  memory.reset_peak();
  {
    StopSignalScope signals(settings.stop_on_sigint);
    // on_end runs however training ends (a console clears its progress bar).
    struct EndGuard {
      const RunHooks& hooks;
      ~EndGuard() {
        if (hooks.on_end) hooks.on_end();
      }
    } end{active_hooks};
    try {
      const std::shared_ptr<Optimizer> optimizer = make_optimizer(e, registry, model);
      outcome.summary = train(model, *objects.task, *optimizer, e.train, callbacks,
                              resuming ? &resume_state : nullptr, settings.group);
    } catch (const TrainingDivergedError&) {
      if (writer) {
        metrics.reset();
        run_folder::write_metrics_tables(folder);
        write_run_report(folder);  // the curves up to the failure
      }
      throw;
    } catch (const Error& failure) {
      if (write_failure.empty()) throw;
      throw Error(write_failure + "; training stopped, but its checkpoint could not be written either (" +
                      failure.message() + ")",
                  "free some disk space and continue from the last complete checkpoint: strata run --resume " +
                      folder.string());
    }
  }
  metrics.reset();
  if (!write_failure.empty())
    throw Error(write_failure + "; training stopped at step " + std::to_string(outcome.summary.steps) +
                    " and wrote its checkpoint",
                "free some disk space and continue: strata run --resume " + folder.string());
  if (outcome.summary.interrupted) outcome.stop_signal = g_stop_signal.load();
  outcome.peak_memory_bytes = memory.stats().peak_allocated_bytes;
  if (!writer) return outcome;
  // A model whose experts are spread over the ranks cannot decode in rank 0 alone; its
  // checkpoint holds the whole model, which `strata generate` decodes in one process.
  const bool whole = !has_sharded_parameters(parameters);
  if (!outcome.summary.interrupted && whole) probe_decoding(model, *objects.task, outcome);
  write_final_json(folder, outcome);
  run_folder::write_metrics_tables(folder);
  write_run_report(folder);
  return outcome;
}

}  // namespace strata
