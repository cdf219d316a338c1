// strata run: validate, build, train, write the run folder, print final metrics.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "strata/checkpoint.h"
#include "strata/runtime.h"
#include "strata/trainer.h"

namespace strata::cli {

namespace fs = std::filesystem;

namespace {

fs::path choose_run_folder(const RunOptions& options, const Experiment& e) {
  if (!options.out.empty()) return options.out;
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

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  if (!out) throw Error("cannot write " + file.string(), "check that the run folder is writable");
}

nlohmann::json to_json(const MetricsRecord& r) {
  nlohmann::json j;
  j["step"] = r.step;
  for (const auto& [name, value] : r.values) {
    if (std::isfinite(value))
      j[name] = value;
    else
      j[name] = nullptr;  // JSON has no NaN/inf
  }
  return j;
}

nlohmann::json to_json(const EvalResult& r, bool perplexity) {
  nlohmann::json j{{"loss", r.loss}, {"accuracy", r.accuracy}, {"scored_positions", r.scored}};
  if (perplexity) j["perplexity"] = r.perplexity;
  return j;
}

}  // namespace

int run_command(const RunOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const Experiment e = Experiment::load(options.file, options.common.experiment_options(), registry);
  if (!e.has_task()) {
    throw ConfigError(SourceLocation{e.file.string()}, "task", "the experiment has no [task] to train on",
                      "add a [task] section (e.g. type = \"copy\"); model-only files are for inspect, generate and "
                      "export");
  }
  if (e.train.integer("threads") > 0) set_num_threads(static_cast<int>(e.train.integer("threads")));
  const ExperimentObjects objects = build_experiment(e, registry);

  const fs::path folder = choose_run_folder(options, e);
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) {
    throw ConfigError(SourceLocation{options.out.empty() ? "[run] out_dir" : "--out"}, "",
                      "cannot create run folder " + folder.string() + ": " + ec.message(),
                      "choose a folder that can be created (not an existing file)");
  }
  write_text(folder / "config.toml", e.resolved_toml());
  write_text(folder / "plan.txt", objects.model->describe());

  std::ofstream metrics(folder / "metrics.jsonl");
  if (!metrics) throw Error("cannot write " + (folder / "metrics.jsonl").string());
  const std::int64_t steps = e.train.integer("steps");
  if (!options.quiet) {
    std::cerr << "strata run " << options.file << " -> " << folder.string() << "\n"
              << "model: " << objects.model->num_parameters() << " parameters, " << e.model.integer("n_layers")
              << " layers; task " << e.task.type() << " (vocab " << objects.task->vocab_size() << ", seq_len "
              << objects.task->seq_len() << "); " << num_threads() << " threads\n";
  }
  Progress progress(steps, options.quiet);
  TrainCallbacks callbacks;
  callbacks.on_step = [&](std::int64_t step, double loss, double tps) { progress.on_step(step, loss, tps); };
  callbacks.on_record = [&](const MetricsRecord& r) {
    metrics << to_json(r).dump() << "\n" << std::flush;
    progress.on_record(r);
  };
  const TrainSummary summary = train(*objects.model, *objects.task, e.train, callbacks);
  progress.finish();

  save_checkpoint(folder / "checkpoint", e, *objects.model);

  const bool ppl = objects.task->reports_perplexity();
  nlohmann::json final_json{{"steps", summary.steps},
                            {"seconds", summary.seconds},
                            {"tokens_per_s", summary.tokens_per_s},
                            {"train_loss", summary.final_train_loss},
                            {"initial_eval", to_json(summary.initial_eval, ppl)},
                            {"eval", to_json(summary.final_eval, ppl)},
                            {"chance_accuracy", objects.task->chance_accuracy()},
                            {"parameters", objects.model->num_parameters()}};
  write_text(folder / "final.json", final_json.dump(2) + "\n");

  char line[512];
  std::snprintf(line, sizeof line,
                "final: train loss %.4f | eval loss %.4f (from %.4f) | eval accuracy %.4f (chance %.4f)%s | "
                "%.0f tokens/s | %s",
                summary.final_train_loss, summary.final_eval.loss, summary.initial_eval.loss,
                summary.final_eval.accuracy, objects.task->chance_accuracy(),
                ppl ? (" | perplexity " + std::to_string(summary.final_eval.perplexity)).c_str() : "",
                summary.tokens_per_s, format_duration(summary.seconds).c_str());
  std::cout << line << "\nrun folder: " << folder.string() << " (checkpoint: " << (folder / "checkpoint").string()
            << ")\n";
  return kOk;
}

}  // namespace strata::cli
