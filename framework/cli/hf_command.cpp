// strata import-hf / export-hf: Hugging Face model folders <-> strata checkpoints.
#include <iostream>

#include "cli/commands.h"
#include "strata/hf.h"

namespace strata::cli {

int import_hf_command(const HfOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const HfImportResult r = import_hf(options.source, options.out, registry, options.common.experiment_options());
  std::cout << "imported " << r.architecture << ": " << r.parameters << " parameters in " << r.tensors
            << " tensors -> " << options.out << " (experiment.toml, model.safetensors)\n";
  return kOk;
}

int export_hf_command(const HfOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const std::string architecture = export_hf(options.source, options.out, registry, options.common.experiment_options(),
                                                options.checks);
  std::cout << "exported " << architecture << " -> " << options.out << " (config.json, model.safetensors)\n";
  return kOk;
}

}  // namespace strata::cli
