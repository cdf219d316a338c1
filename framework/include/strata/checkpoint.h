#pragma once
// strata checkpoints. A checkpoint is a folder:
//   experiment.toml     the resolved experiment the weights belong to (every default filled in)
//   model.safetensors   every parameter and buffer of the model under its module path
//                       ("layers.3.mixer.in_proj.weight", "layers.1.ffn.balance_0.expert_bias")
// Both files are written atomically; the folder is readable by any safetensors tool.
//
//   save_checkpoint("runs/x/checkpoint", experiment, *model);
//   LoadedCheckpoint c = load_checkpoint("runs/x/checkpoint", {}, registry);
//   c.model->forward(ids, ctx);
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "strata/experiment.h"
#include "strata/model.h"

namespace strata {

inline constexpr const char* kCheckpointExperimentFile = "experiment.toml";
inline constexpr const char* kCheckpointWeightsFile = "model.safetensors";

// Writes the model's parameters and buffers (in their own dtypes) to a safetensors file;
// `metadata` goes into its header.
void save_model_weights(const Model& model, const std::filesystem::path& file,
                        const std::map<std::string, std::string>& metadata = {});

// Fills every parameter and buffer of `model` from a safetensors file, converting the
// dtype where needed. Every tensor of the model must be present with its exact shape and
// the file may hold no others; otherwise FileFormatError names the tensors (first few
// missing, unexpected, or with their two shapes) and the model is left unchanged.
void load_model_weights(Model& model, const std::filesystem::path& file);

// Creates `folder` and writes experiment.toml and model.safetensors into it.
void save_checkpoint(const std::filesystem::path& folder, const Experiment& experiment, const Model& model);

struct LoadedCheckpoint {
  Experiment experiment;
  std::shared_ptr<Model> model;
  std::shared_ptr<Task> task;  // null when the experiment has no [task]
};

// Builds the checkpoint's model from its experiment.toml (loading the plugins it needs into
// `registry`) and loads its weights. `folder` may also be the model.safetensors file inside
// it. Throws FileFormatError for a folder that is not a checkpoint.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& folder, const ExperimentOptions& options,
                                 ComponentRegistry& registry, DType dtype = DType::f32);

}  // namespace strata
