// strata init: the freshly initialised model of an experiment file as a checkpoint, e.g. to
// export a randomly initialised model to Hugging Face or to compare frameworks on it.
#include <iostream>

#include "cli/commands.h"
#include "strata/checkpoint.h"

namespace strata::cli {

int init_command(const InitOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const Experiment e = Experiment::load(options.file, options.common.experiment_options(), registry);
  const ExperimentObjects objects = build_experiment(e, registry);
  save_checkpoint(options.out, e, *objects.model, nullptr, objects.task ? objects.task->tokenizer() : nullptr);
  std::cerr << "wrote " << options.out << ": " << objects.model->num_parameters() << " parameters initialised from "
            << "train.seed " << e.train.integer("seed") << "\n";
  return kOk;
}

}  // namespace strata::cli
