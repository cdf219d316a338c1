// strata inspect: the analytic plan of an experiment's model (per-layer components,
// total and active parameters, decode-cache bytes, FLOPs per token), without building it.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "strata/checkpoint.h"
#include "strata/model_plan.h"
#include "strata/sweep.h"

#include <nlohmann/json.hpp>

namespace strata::cli {

namespace {

// A sweep: one line per variant (parameters, cache, FLOPs), to compare sizes before training.
int inspect_sweep(const std::filesystem::path& file, const InspectOptions& options, const std::vector<SweepAxis>& axes,
                  ComponentRegistry& registry) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  if (!options.json)
    std::printf("%-36s %8s %14s %14s %14s %14s\n", "variant", "layers", "params_total", "params_active",
                "cache_bytes", "flops/token");
  for (const SweepVariant& v : expand_sweep(axes)) {
    const Experiment e = load_sweep_variant(file, options.common.experiment_options(), v, axes, registry);
    const ModelPlan plan = plan_model(e, registry, PlanQuery{options.context, options.dtype});
    if (options.json) {
      nlohmann::ordered_json j = nlohmann::ordered_json::parse(plan.to_json());
      j["variant"] = v.name;
      all.push_back(j);
      continue;
    }
    std::printf("%-36s %8lld %14lld %14lld %14lld %14.4g\n", v.name.c_str(), static_cast<long long>(plan.dims.n_layers),
                static_cast<long long>(plan.params_total), static_cast<long long>(plan.params_active),
                static_cast<long long>(plan.cache_bytes), plan.flops_per_token);
  }
  if (options.json) std::cout << all.dump(2) << "\n";
  return kOk;
}

}  // namespace

int inspect_command(const InspectOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  std::filesystem::path file = options.file;
  if (std::filesystem::is_directory(file)) file /= kCheckpointExperimentFile;  // a checkpoint folder
  const std::vector<SweepAxis> axes = read_sweep_axes(file);
  if (!axes.empty()) return inspect_sweep(file, options, axes, registry);
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
