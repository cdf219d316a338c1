// strata run: validate, build, train, write the run folder (metrics, checkpoint, tables),
// print the final metrics. Also --resume, SIGINT (checkpoint and stop), and sweeps.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/run_files.h"
#include "cli/run_single.h"
#include "cli/token_input.h"
#include "strata/atomic_file.h"
#include "strata/allocator.h"
#include "strata/checkpoint.h"
#include "strata/generate.h"
#include "strata/report.h"
#include "strata/runtime.h"
#include "strata/sweep.h"

namespace strata::cli {

namespace fs = std::filesystem;

namespace {

// Set by SIGINT: the trainer checkpoints and stops after the current step. A second
// SIGINT kills the process (the handler restores the default at once).
std::atomic<bool> g_stop_requested{false};
extern "C" void on_sigint(int) {
  g_stop_requested.store(true);
  std::signal(SIGINT, SIG_DFL);
}

class SigintScope {
 public:
  SigintScope() : previous_(std::signal(SIGINT, on_sigint)) { g_stop_requested.store(false); }
  ~SigintScope() { std::signal(SIGINT, previous_); }
  SigintScope(const SigintScope&) = delete;
  SigintScope& operator=(const SigintScope&) = delete;

 private:
  void (*previous_)(int);
};

// Decoding speed and cache size of the trained model: one sequence, an evaluation prompt,
// 64 new tokens. Models whose mixers cannot decode report 0.
void probe_decoding(Model& model, Task& task, RunOutcome& outcome) {
  try {
    const Batch batch = task.eval_batch(0, 1);
    GenerateOptions options;
    options.max_new_tokens = 64;
    Generator gen(0);
    const GenerateResult r = generate(model, batch.inputs, options, gen);
    outcome.decode_tokens_per_s = r.decode_seconds > 0 ? double(r.decoded_tokens) / r.decode_seconds : 0.0;
    outcome.decode_cache_bytes = r.cache_bytes;
  } catch (const NotImplementedError&) {
  }
}

}  // namespace

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

void create_folder(const fs::path& folder, const std::string& source) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) {
    throw ConfigError(SourceLocation{source}, "", "cannot create run folder " + folder.string() + ": " + ec.message(),
                      "choose a folder that can be created (not an existing file)");
  }
}

RunOutcome run_in_folder(const Experiment& e, const ComponentRegistry& registry, const fs::path& folder,
                         const RunSettings& settings) {
  if (!e.has_task()) {
    throw ConfigError(SourceLocation{e.file.string()}, "task", "the experiment has no [task] to train on",
                      "add a [task] section (e.g. type = \"copy\"); model-only files are for inspect, generate and "
                      "export");
  }
  if (e.train.integer("threads") > 0) set_num_threads(static_cast<int>(e.train.integer("threads")));
  const ExperimentObjects objects = build_experiment(e, registry);
  Model& model = *objects.model;

  TrainingState resume_state;
  const bool resuming = !settings.resume_checkpoint.empty();
  if (resuming) {
    load_model_weights(model, resolve_checkpoint_folder(settings.resume_checkpoint) / kCheckpointWeightsFile);
    resume_state = load_training_state(settings.resume_checkpoint, model);
    truncate_metrics(folder, resume_state.step);
  } else {
    write_text_atomically(folder / "config.toml", e.resolved_toml());
    write_text_atomically(folder / "plan.txt", model.describe());
  }
  std::ofstream metrics(folder / "metrics.jsonl", resuming ? std::ios::app : std::ios::trunc);
  if (!metrics) throw Error("cannot write " + (folder / "metrics.jsonl").string());

  const std::int64_t steps = e.train.integer("steps");
  if (!settings.quiet) {
    std::cerr << "strata run " << e.file.string() << " -> " << folder.string()
              << (resuming ? " (resuming at step " + std::to_string(resume_state.step) + ")" : "") << "\n"
              << "model: " << model.num_parameters() << " parameters, " << e.model.integer("n_layers")
              << " layers; task " << e.task.type() << " (vocab " << objects.task->vocab_size() << ", seq_len "
              << objects.task->seq_len() << "); " << num_threads() << " threads\n";
  }
  Progress progress(steps, settings.quiet);
  TrainCallbacks callbacks;
  callbacks.on_step = [&](std::int64_t step, double loss, double tps) { progress.on_step(step, loss, tps); };
  callbacks.on_record = [&](const MetricsRecord& r) {
    metrics << to_json(r).dump() << "\n" << std::flush;
    progress.on_record(r);
  };
  const std::int64_t keep_checkpoints = e.train.integer("keep_checkpoints");
  callbacks.on_checkpoint = [&](const TrainingState& state) {
    save_checkpoint(folder / "checkpoint", e, model, &state);
    if (keep_checkpoints > 0)
      snapshot_checkpoint(folder / "checkpoint", folder / "checkpoints", state.step, keep_checkpoints);
  };
  callbacks.stop_requested = [] { return g_stop_requested.load(); };

  RunOutcome outcome;
  outcome.parameters = model.num_parameters();
  outcome.chance_accuracy = objects.task->chance_accuracy();
  outcome.perplexity = objects.task->reports_perplexity();
  Allocator& memory = allocator_for(Device::cpu());
  memory.reset_peak();
  {
    SigintScope sigint;
    try {
      const std::shared_ptr<Optimizer> optimizer = make_optimizer(e, registry, model);
      outcome.summary = train(model, *objects.task, *optimizer, e.train, callbacks, resuming ? &resume_state : nullptr);
    } catch (const TrainingDivergedError&) {
      progress.finish();
      metrics.close();
      write_metrics_tables(folder);
      write_run_report(folder);  // the curves up to the failure
      throw;
    }
  }
  progress.finish();
  metrics.close();
  outcome.peak_memory_bytes = memory.stats().peak_allocated_bytes;
  if (!outcome.summary.interrupted) probe_decoding(model, *objects.task, outcome);

  const TrainSummary& s = outcome.summary;
  nlohmann::json final_json{{"steps", s.steps},
                            {"interrupted", s.interrupted},
                            {"seconds", s.seconds},
                            {"tokens_per_s", s.tokens_per_s},
                            {"train_loss", s.final_train_loss},
                            {"initial_eval", to_json(s.initial_eval, outcome.perplexity)},
                            {"eval", to_json(s.final_eval, outcome.perplexity)},
                            {"chance_accuracy", outcome.chance_accuracy},
                            {"parameters", outcome.parameters},
                            {"peak_memory_bytes", outcome.peak_memory_bytes},
                            {"decode", {{"tokens_per_s", outcome.decode_tokens_per_s},
                                        {"cache_bytes", outcome.decode_cache_bytes}}}};
  write_text_atomically(folder / "final.json", final_json.dump(2) + "\n");
  write_metrics_tables(folder);
  write_run_report(folder);
  return outcome;
}

std::string final_line(const RunOutcome& o) {
  const TrainSummary& s = o.summary;
  char line[512];
  std::snprintf(line, sizeof line,
                "final: train loss %.4f | eval loss %.4f (from %.4f) | eval accuracy %.4f (chance %.4f)%s | "
                "%.0f tokens/s | %s",
                s.final_train_loss, s.final_eval.loss, s.initial_eval.loss, s.final_eval.accuracy, o.chance_accuracy,
                o.perplexity ? (" | perplexity " + std::to_string(s.final_eval.perplexity)).c_str() : "",
                s.tokens_per_s, format_duration(s.seconds).c_str());
  return line;
}

int run_command(const RunOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  ExperimentOptions experiment_options = options.common.experiment_options();

  if (!options.resume.empty()) {
    if (!options.sweeps.empty())
      throw UsageError("--resume continues one run; it does not take --sweep", "resume each variant's folder");
    const fs::path checkpoint = fs::path(options.resume) / "checkpoint";
    std::error_code ec;
    if (!fs::is_directory(resolve_checkpoint_folder(checkpoint), ec))
      throw UsageError("--resume " + options.resume + ": no checkpoint folder in it",
                       "give the run folder of an earlier `strata run` (it holds checkpoint/)");
    const Experiment e = Experiment::load(resolve_checkpoint_folder(checkpoint) / kCheckpointExperimentFile,
                                          experiment_options, registry);
    RunSettings settings{options.quiet, checkpoint};
    const RunOutcome o = run_in_folder(e, registry, options.resume, settings);
    return report_single(o, options.resume);
  }
  if (options.file.empty()) throw UsageError("strata run needs an experiment file (or --resume RUN_FOLDER)");

  std::vector<SweepAxis> axes = read_sweep_axes(options.file);
  for (const std::string& a : options.sweeps) axes.push_back(parse_sweep_argument(a));
  if (!axes.empty()) return run_sweep(options, axes, registry);

  const Experiment e = Experiment::load(options.file, experiment_options, registry);
  const fs::path folder = options.out.empty() ? default_run_folder(e) : fs::path(options.out);
  create_folder(folder, options.out.empty() ? "[run] out_dir" : "--out");
  const RunOutcome o = run_in_folder(e, registry, folder, RunSettings{options.quiet, {}});
  return report_single(o, folder);
}

int report_single(const RunOutcome& o, const fs::path& folder) {
  if (o.summary.interrupted) {
    std::cout << "interrupted at step " << o.summary.steps << "; checkpoint written to "
              << (folder / "checkpoint").string() << "\n  continue with: strata run --resume " << folder.string()
              << "\n";
    return kInterrupted;
  }
  std::cout << final_line(o) << "\nrun folder: " << folder.string() << " (report: "
            << (folder / "report.html").string() << ")\n";
  return kOk;
}

}  // namespace strata::cli
