// strata inspect: the analytic plan of an experiment's model (per-layer components,
// total and active parameters, decode-cache bytes, FLOPs per token), without building it.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/token_input.h"
#include "strata/checkpoint.h"
#include "strata/memory_plan.h"
#include "strata/model_plan.h"
#include "strata/sweep.h"

#include <nlohmann/json.hpp>

namespace strata::cli {

namespace {

// The memory query of --memory/--target, --batch, --seq-len, --context and --dtype.
MemoryQuery memory_query(const InspectOptions& options, const ModelPlan& plan) {
  MemoryQuery q;
  try {
    if (!options.target.empty()) {
      const MemoryTarget& t = memory_target(options.target);
      q.budget_bytes = t.bytes;
      q.budget_name = t.name;
      q.budget_note = t.note;
    } else {
      q.budget_bytes = parse_memory_size(options.memory);
      q.budget_name = options.memory;
    }
  } catch (const ValueError& e) {
    throw UsageError(std::string(options.target.empty() ? "--memory: " : "--target: ") + e.message(), e.hint());
  }
  q.batch = options.batch;
  q.seq_len = options.seq_len > 0          ? options.seq_len
              : options.context > 0        ? options.context
              : plan.dims.max_seq_len > 0 ? plan.dims.max_seq_len
                                           : 4096;
  q.context = options.context > 0 ? options.context : q.seq_len;
  q.dtype = options.dtype;
  return q;
}

// A sweep: one line per variant (parameters, cache, FLOPs; with --memory/--target whether
// decoding and training fit and the longest contexts), to compare sizes before training.
int inspect_sweep(const std::filesystem::path& file, const InspectOptions& options, const std::vector<SweepAxis>& axes,
                  ComponentRegistry& registry) {
  const bool memory = !options.memory.empty() || !options.target.empty();
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  if (!options.json && !memory)
    std::printf("%-36s %8s %14s %14s %14s %14s\n", "variant", "layers", "params_total", "params_active",
                "cache_bytes", "flops/token");
  bool first = true;
  for (const SweepVariant& v : expand_sweep(axes)) {
    const Experiment e = load_sweep_variant(file, options.common.experiment_options(), v, axes, registry);
    const ModelPlan plan = plan_model(e, registry, PlanQuery{options.context, options.dtype});
    std::optional<MemoryPlan> m;
    if (memory) m = plan_memory(e, registry, memory_query(options, plan));
    if (options.json) {
      nlohmann::ordered_json j = nlohmann::ordered_json::parse(plan.to_json());
      j["variant"] = v.name;
      if (m) j["memory"] = nlohmann::ordered_json::parse(m->to_json());
      all.push_back(j);
      continue;
    }
    if (m) {
      if (first)
        std::printf("memory plan: %s (%s), %s, batch %lld, training %lld tokens, decoding %lld tokens\n"
                    "%-28s %14s %12s %12s %22s %12s %22s\n",
                    format_bytes(double(m->query.budget_bytes)).c_str(), m->query.budget_name.c_str(),
                    m->query.dtype.c_str(), static_cast<long long>(m->query.batch),
                    static_cast<long long>(m->query.seq_len), static_cast<long long>(m->query.context), "variant",
                    "params", "train", "decode", "longest training seq", "", "longest decode context");
      first = false;
      std::printf("%-28s %14lld %12s %12s %22s %12s %22s\n", v.name.c_str(), static_cast<long long>(m->params),
                  m->activations_known ? format_bytes(double(m->train_bytes())).c_str() : "?",
                  m->cache_known ? format_bytes(double(m->decode_bytes())).c_str() : "?",
                  tokens_text(m->max_train_seq_len).c_str(), "", tokens_text(m->max_decode_context).c_str());
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
  const bool memory = !options.memory.empty() || !options.target.empty();
  if (!memory && (options.batch != 1 || options.seq_len != 0))
    throw UsageError("--batch and --seq-len plan memory: give --memory SIZE or --target NAME too");
  std::optional<MemoryPlan> memory_plan;
  if (memory) memory_plan = plan_memory(e, registry, memory_query(options, plan));
  if (options.json) {
    if (!memory_plan) {
      std::cout << plan.to_json();
      return kOk;
    }
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(plan.to_json());
    j["memory"] = nlohmann::ordered_json::parse(memory_plan->to_json());
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  std::cout << "experiment: " << e.file.string() << "\n";
  if (e.has_task()) std::cout << "task: " << e.task.type() << "\n";
  std::cout << plan.to_text();
  if (memory_plan) std::cout << "\n" << memory_plan->to_text();
  return kOk;
}

}  // namespace strata::cli
