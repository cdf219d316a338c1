#pragma once
// An experiment file: [model], [task], [train], [plugins] and [run], validated against
// the schemas of the framework and of every component the file names.
//
//   ComponentRegistry registry;
//   register_builtin_components(registry);
//   Experiment e = Experiment::load("experiments/quickstart.toml", {}, registry);  // loads plugins
//   auto task = registry.create<Task>(e.task, ctx);
#include <filesystem>
#include <string>
#include <vector>

#include "strata/config.h"
#include "strata/model.h"
#include "strata/registry.h"

namespace strata {

struct ExperimentOptions {
  // "key.path=value" overrides (--set), applied in order before validation.
  std::vector<std::string> overrides;
  // Plugin folders or files added after the file's [plugins] paths (--plugin-path).
  std::vector<std::filesystem::path> plugin_paths;
  // Search the default folders and STRATA_PLUGIN_PATH (plugin_loader.h).
  bool default_plugin_folders = true;
};

// Loads the plugins found in `paths` (an experiment's [plugins] paths) and those `options`
// name (--plugin-path; the default folders and STRATA_PLUGIN_PATH unless switched off) into
// `registry`. Experiment::load calls it; import-hf calls it before any experiment exists.
void load_experiment_plugins(const ExperimentOptions& options, ComponentRegistry& registry,
                             const std::vector<std::filesystem::path>& paths = {});

struct Experiment {
  std::filesystem::path file;
  Config model;    // [model]
  Config task;     // [task], a task component; absent (type "") in a model-only experiment
  Config train;    // [train]
  Config plugins;  // [plugins]
  Config run;      // [run]

  // Parses `file`, applies the overrides, loads the plugins it needs into `registry`,
  // then validates every section. Throws ConfigError (file:line:col) or PluginError.
  static Experiment load(const std::filesystem::path& file, const ExperimentOptions& options,
                         ComponentRegistry& registry);
  // Same, from TOML text (`name` stands for the file in error locations).
  static Experiment from_string(const std::string& text, const std::string& name, const ExperimentOptions& options,
                                ComponentRegistry& registry);

  bool has_task() const { return !task.type().empty(); }

  // The whole resolved experiment (defaults filled in) as TOML.
  std::string resolved_toml() const;
};

// The task and the model an experiment describes, initialised from train.seed.
struct ExperimentObjects {
  std::shared_ptr<Task> task;  // null without [task] (then [model] vocab_size must be set)
  std::shared_ptr<Model> model;
};
// The experiment's task (null without [task]) and the dimensions it gives the model
// (vocabulary, sequence length). Without [task], [model] vocab_size must be set (ConfigError).
std::shared_ptr<Task> make_experiment_task(const Experiment& experiment, const BuildContext& ctx, ModelDims& dims);

// `data_parallel`: the group the model will train on (components may shard over it: expert
// parallelism, docs/distributed.md); null for one process. Every rank of it must call this.
ExperimentObjects build_experiment(const Experiment& experiment, const ComponentRegistry& registry,
                                   DType dtype = DType::f32, Communicator* data_parallel = nullptr);

// The experiment's [train.optimizer] (default adamw), holding `model`'s parameters.
std::shared_ptr<Optimizer> make_optimizer(const Experiment& experiment, const ComponentRegistry& registry,
                                          const Model& model);

// The framework's schemas for the plain sections.
const ConfigSchema& model_schema();
const ConfigSchema& train_schema();
const ConfigSchema& plugins_schema();
const ConfigSchema& run_schema();

}  // namespace strata
