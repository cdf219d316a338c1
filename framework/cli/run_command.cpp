// strata run: the command line of a run (strata/run.h does the run): a single run,
// --resume, or a sweep; the progress display and the final lines.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/run_single.h"
#include "cli/token_input.h"
#include "strata/checkpoint.h"
#include "strata/memory_guard.h"
#include "strata/run.h"
#include "strata/run_folder.h"
#include "strata/sweep.h"

namespace strata::cli {

namespace fs = std::filesystem;

namespace {

// The console side of a run: the banner, the progress display, the final lines.
RunHooks console_hooks(const std::string& file, bool quiet, Progress& progress) {
  RunHooks hooks;
  if (quiet) return hooks;
  hooks.on_start = [file, &progress](const RunStart& s) {
    progress.set_series(s.series);
    std::cerr << "strata run " << file << " -> " << s.folder.string()
              << (s.resumed_at >= 0 ? " (resuming at step " + std::to_string(s.resumed_at) + ")" : "") << "\n"
              << "model: " << s.parameters << " parameters, " << s.n_layers << " layers; task " << s.task << " (vocab "
              << s.vocab_size << ", seq_len " << s.seq_len << "); " << s.threads << " threads"
              << (s.ranks > 1 ? " per rank; data parallel over " + std::to_string(s.ranks) + " ranks" : "") << "\n";
  };
  hooks.on_step = [&progress](std::int64_t step, double loss, double tps) { progress.on_step(step, loss, tps); };
  hooks.on_record = [&progress](const MetricsRecord& r) { progress.on_record(r); };
  hooks.on_end = [&progress] { progress.finish(); };
  return hooks;
}

RunOutcome run_with_console(const Experiment& e, const ComponentRegistry& registry, const fs::path& folder,
                            const RunSettings& settings, bool quiet) {
  Progress progress(e.train.integer("steps"), quiet);
  return run_in_folder(e, registry, folder, settings, console_hooks(e.file.string(), quiet, progress));
}

}  // namespace

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
  // Data parallel under mpirun: rank 0 speaks and writes; the others train quietly.
  const bool rank0 = options.world == nullptr || options.world->rank() == 0;
  const bool quiet = options.quiet || !rank0;
  ComponentRegistry registry;
  register_builtin_components(registry);
  ExperimentOptions experiment_options = options.common.experiment_options();

  if (!options.resume.empty()) {
    if (!options.sweeps.empty())
      throw UsageError("--resume continues one run; it does not take --sweep", "resume each variant's folder");
    if (!options.file.empty())
      throw UsageError("--resume continues the run with the experiment in its checkpoint; it does not take an "
                           "experiment file (" + options.file + ")",
                       "drop the file; change a setting of the resumed run with --set KEY=VALUE (e.g. train.steps)");
    if (options.overwrite) throw UsageError("--resume continues a run; it does not take --overwrite");
    const fs::path checkpoint = fs::path(options.resume) / run_folder::kCheckpointFolder;
    std::error_code ec;
    if (!fs::is_directory(resolve_checkpoint_folder(checkpoint), ec))
      throw UsageError("--resume " + options.resume + ": no checkpoint folder in it",
                       "give the run folder of an earlier `strata run` (it holds checkpoint/)");
    const Experiment e = Experiment::load(resolve_checkpoint_folder(checkpoint) / kCheckpointExperimentFile,
                                          experiment_options, registry);
    RunSettings settings;
    settings.resume_checkpoint = checkpoint;
    settings.resume_checks = options.checks;
    settings.check_memory = options.checks.check_memory;
    settings.group = options.world;
    const RunOutcome o = run_with_console(e, registry, options.resume, settings, quiet);
    return rank0 ? report_single(o, options.resume) : exit_code(o);
  }
  if (options.file.empty()) throw UsageError("strata run needs an experiment file (or --resume RUN_FOLDER)");

  std::vector<SweepAxis> axes = read_sweep_axes(options.file);
  for (const std::string& a : options.sweeps) axes.push_back(parse_sweep_argument(a));
  if (!options.seeds.empty()) {  // replaces the file's seeds: the command line wins, as with --set
    std::erase_if(axes, [](const SweepAxis& a) { return a.key == "train.seed" && a.where.file.rfind("--", 0) != 0; });
    SweepAxis seeds = parse_sweep_argument("train.seed=" + options.seeds);
    seeds.where = SourceLocation{"--seeds " + options.seeds};
    axes.push_back(std::move(seeds));
  }
  if (!axes.empty()) return run_sweep(options, axes, registry);

  const Experiment e = Experiment::load(options.file, experiment_options, registry);
  // Before the folder exists: a run refused for its device or its memory leaves nothing behind.
  training_device(e);
  if (options.checks.check_memory) require_training_fits(e, registry);
  const fs::path folder = create_output_folder(options, e);
  RunSettings settings;
  settings.check_memory = false;  // checked above
  settings.group = options.world;
  const RunOutcome o = run_with_console(e, registry, folder, settings, quiet);
  return rank0 ? report_single(o, folder) : exit_code(o);
}

fs::path create_output_folder(const RunOptions& options, const Experiment& experiment) {
  // Rank 0 names and creates it (a timestamped name could differ between ranks).
  std::string name;
  if (options.world == nullptr || options.world->rank() == 0) {
    const fs::path folder = options.out.empty() ? default_run_folder(experiment) : fs::path(options.out);
    create_run_folder(folder, options.out.empty() ? "[run] out_dir" : "--out", options.overwrite);
    name = folder.string();
  }
  if (options.world != nullptr) options.world->broadcast(name, 0);
  return name;
}

int exit_code(const RunOutcome& o) {
  if (!o.summary.interrupted) return kOk;
  return o.stop_signal == SIGTERM ? kTerminated : o.stop_signal == SIGUSR1 ? kUserSignal : kInterrupted;
}

int report_single(const RunOutcome& o, const fs::path& folder) {
  if (o.summary.interrupted) {
    std::cout << "interrupted at step " << o.summary.steps << "; checkpoint written to "
              << (folder / run_folder::kCheckpointFolder).string() << "\n  continue with: strata run --resume " << folder.string()
              << "\n";
    return exit_code(o);
  }
  std::cout << final_line(o) << "\nrun folder: " << folder.string() << " (report: "
            << (folder / run_folder::kReportFile).string() << ")\n";
  return kOk;
}

}  // namespace strata::cli
