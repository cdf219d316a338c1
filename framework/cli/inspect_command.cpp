// strata inspect: the analytic plan of an experiment's model (per-layer components,
// total and active parameters, decode-cache bytes, FLOPs per token), without building it.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "strata/checkpoint.h"
#include "strata/model_plan.h"

namespace strata::cli {

int inspect_command(const InspectOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  std::filesystem::path file = options.file;
  if (std::filesystem::is_directory(file)) file /= kCheckpointExperimentFile;  // a checkpoint folder
  const Experiment e = Experiment::load(file, options.common.experiment_options(), registry);
  const ModelPlan plan = plan_model(e, registry, PlanQuery{options.context, options.dtype});
  if (options.json) {
    std::cout << plan.to_json();
    return kOk;
  }
  std::cout << "experiment: " << e.file.string() << "\n";
  if (e.has_task()) std::cout << "task: " << e.task.type() << "\n";
  std::cout << plan.to_text();
  return kOk;
}

}  // namespace strata::cli
