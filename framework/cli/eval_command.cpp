// strata eval: a checkpoint on its task's fixed evaluation set, optionally at other
// sequence lengths (length extrapolation) or with other task settings (--set task.KEY=V).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "strata/precision.h"
#include "cli/token_input.h"
#include "strata/checkpoint.h"
#include "strata/trainer.h"

namespace strata::cli {

int eval_command(const EvalOptions& options) {
  const Device device = device_option(options.device);
  std::vector<std::string> lengths = options.seq_lens;
  if (lengths.empty()) lengths.push_back("");  // the checkpoint's own setting
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const std::string& length : lengths) {
    ComponentRegistry registry;
    register_builtin_components(registry);
    ExperimentOptions experiment_options = options.common.experiment_options();
    if (!length.empty()) experiment_options.overrides.push_back("task.seq_len=" + length);
    LoadedCheckpoint c = load_checkpoint(options.checkpoint, experiment_options, registry, DType::f32, options.checks);
    if (!c.task) {
      throw UsageError(options.checkpoint + ": the checkpoint's experiment has no [task] to evaluate on",
                       "add one with --set task.type=NAME (and its keys)");
    }
    c.model->to(device);  // checkpoints load on the CPU
    const std::int64_t batch_size =
        options.batch_size > 0 ? options.batch_size : c.experiment.train.integer("batch_size");
    const PrecisionGuard precision(parse_precision(c.experiment.train.string("precision")));  // as trained
    const EvalResult r = evaluate(*c.model, *c.task, options.batches, batch_size);
    nlohmann::ordered_json j;
    j["task"] = c.experiment.task.type();
    j["seq_len"] = c.task->seq_len();
    j["loss"] = r.loss;
    j["accuracy"] = r.accuracy;
    if (c.task->reports_perplexity()) j["perplexity"] = r.perplexity;
    j["chance_accuracy"] = c.task->chance_accuracy();
    j["scored_positions"] = r.scored;
    results.push_back(j);
    if (!options.json) {
      char line[256];
      std::snprintf(line, sizeof line, "seq_len %6lld  loss %.4f  accuracy %.4f (chance %.4f)%s  scored %lld\n",
                    static_cast<long long>(c.task->seq_len()), r.loss, r.accuracy, c.task->chance_accuracy(),
                    c.task->reports_perplexity() ? ("  perplexity " + std::to_string(r.perplexity)).c_str() : "",
                    static_cast<long long>(r.scored));
      std::cout << line;
    }
  }
  if (options.json) std::cout << results.dump(2) << "\n";
  return kOk;
}

}  // namespace strata::cli
