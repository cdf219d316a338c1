// strata inspect: the per-layer plan and parameter counts of an experiment's model.
#include <iostream>

#include "cli/commands.h"

namespace strata::cli {

int inspect_command(const InspectOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const Experiment e = Experiment::load(options.file, options.common.experiment_options(), registry);
  const ExperimentObjects objects = build_experiment(e, registry);
  std::cout << "experiment: " << e.file.string() << "\n"
            << "task: " << e.task.type() << " (vocab " << objects.task->vocab_size() << ", seq_len "
            << objects.task->seq_len() << ")\n"
            << objects.model->describe();
  return kOk;
}

}  // namespace strata::cli
