#include "strata/checkpoint.h"

#include <set>

#include "strata/atomic_file.h"
#include "strata/autograd.h"
#include "strata/error.h"
#include "strata/runtime.h"
#include "strata/safetensors.h"

namespace strata {

namespace fs = std::filesystem;

namespace {

// Every tensor a checkpoint holds for `model`: parameters, then buffers.
std::vector<std::pair<std::string, Tensor>> model_tensors(const Model& model) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.name, p.tensor);
  for (const auto& b : model.named_buffers()) out.emplace_back(b.name, b.tensor);
  return out;
}

}  // namespace

void save_model_weights(const Model& model, const fs::path& file, const std::map<std::string, std::string>& metadata) {
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "strata");
  meta.emplace("strata_version", build_info());
  safetensors::write(file, model_tensors(model), meta);
}

void load_model_weights(Model& model, const fs::path& file) {
  const safetensors::Reader reader(file);
  const auto targets = model_tensors(model);
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> expected;
  for (const auto& [name, tensor] : targets) {
    expected.insert(name);
    const safetensors::TensorInfo* info = reader.find(name);
    if (info == nullptr)
      missing.push_back(name);
    else if (!(info->shape == tensor.shape()))
      mismatched.push_back(name + " (file " + info->shape.to_string() + ", model " + tensor.shape().to_string() + ")");
  }
  for (const auto& info : reader.tensors())
    if (!expected.count(info.name)) unexpected.push_back(info.name);
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    std::string message = file.string() + ": does not match the model:";
    if (!missing.empty()) message += "\n  missing tensors: " + join_first_names(missing);
    if (!mismatched.empty()) message += "\n  shape mismatches: " + join_first_names(mismatched);
    if (!unexpected.empty()) message += "\n  unexpected tensors: " + join_first_names(unexpected);
    throw FileFormatError(message, "the weights belong to another model; load them with the experiment they were "
                                   "saved with (the checkpoint's experiment.toml)");
  }
  // Read everything before touching the model, so a failing read leaves it unchanged.
  std::vector<Tensor> values;
  values.reserve(targets.size());
  for (const auto& [name, tensor] : targets) values.push_back(reader.load(name));
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    Tensor destination = targets[i].second;
    destination.copy_(values[i]);
  }
}

void save_checkpoint(const fs::path& folder, const Experiment& experiment, const Model& model) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error("cannot create checkpoint folder " + folder.string() + ": " + ec.message());
  save_model_weights(model, folder / kCheckpointWeightsFile);
  write_text_atomically(folder / kCheckpointExperimentFile, experiment.resolved_toml());
}

LoadedCheckpoint load_checkpoint(const fs::path& path, const ExperimentOptions& options, ComponentRegistry& registry,
                                 DType dtype) {
  const fs::path folder = path.filename() == kCheckpointWeightsFile ? path.parent_path() : path;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    throw FileFormatError(path.string() + ": not a checkpoint folder",
                          std::string("a checkpoint is a folder holding ") + kCheckpointExperimentFile + " and " +
                              kCheckpointWeightsFile + " (e.g. runs/NAME/checkpoint)");
  }
  for (const char* file : {kCheckpointExperimentFile, kCheckpointWeightsFile}) {
    if (!fs::is_regular_file(folder / file, ec)) {
      throw FileFormatError(folder.string() + ": not a checkpoint: " + file + " is missing",
                            std::string("a checkpoint folder holds ") + kCheckpointExperimentFile + " and " +
                                kCheckpointWeightsFile);
    }
  }
  LoadedCheckpoint out;
  out.experiment = Experiment::load(folder / kCheckpointExperimentFile, options, registry);
  ExperimentObjects objects = build_experiment(out.experiment, registry, dtype);
  out.model = std::move(objects.model);
  out.task = std::move(objects.task);
  load_model_weights(*out.model, folder / kCheckpointWeightsFile);
  return out;
}

}  // namespace strata
