#pragma once
// strata checkpoints. A checkpoint is a folder:
//   experiment.toml        the resolved experiment the weights belong to
//   model.safetensors      every parameter and buffer of the model under its module path
//                          ("layers.3.mixer.in_proj.weight", "layers.1.ffn.balance_0.expert_bias")
// and, in a training run's checkpoint, what resuming needs (TrainingState, trainer.h):
//   optimizer.safetensors  the optimizer's state() by name (AdamW: "m.<param>", "v.<param>")
//   state.json             step, random streams, optimizer type and step count, the open log window
// A checkpoint is replaced as a whole: it is written to FOLDER.new, which then takes the
// place of FOLDER, so a killed writer leaves the previous checkpoint (or the complete new
// one) to load. Every file is readable by standard tools (safetensors, JSON, TOML).
//
//   save_checkpoint("runs/x/checkpoint", experiment, *model);
//   LoadedCheckpoint c = load_checkpoint("runs/x/checkpoint", {}, registry);
//   c.model->forward(ids, ctx);
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "strata/experiment.h"
#include "strata/model.h"
#include "strata/trainer.h"

namespace strata {

inline constexpr const char* kCheckpointExperimentFile = "experiment.toml";
inline constexpr const char* kCheckpointWeightsFile = "model.safetensors";
inline constexpr const char* kCheckpointOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kCheckpointStateFile = "state.json";

// Writes the model's parameters and buffers (in their own dtypes) to a safetensors file;
// `metadata` goes into its header.
void save_model_weights(const Model& model, const std::filesystem::path& file,
                        const std::map<std::string, std::string>& metadata = {});

// Fills every parameter and buffer of `model` from a safetensors file, converting the
// dtype where needed. Every tensor of the model must be present with its exact shape and
// the file may hold no others; otherwise FileFormatError names the tensors (first few
// missing, unexpected, or with their two shapes) and the model is left unchanged.
void load_model_weights(Model& model, const std::filesystem::path& file);

// Writes the checkpoint `folder` (replacing one that is there, as a whole): experiment.toml,
// model.safetensors and, when `state` is given, optimizer.safetensors and state.json.
void save_checkpoint(const std::filesystem::path& folder, const Experiment& experiment, const Model& model,
                     const TrainingState* state = nullptr);

// The folder to read for checkpoint `folder`: itself, or after a writer was killed between
// its two renames, the complete FOLDER.new or the previous FOLDER.old.
std::filesystem::path resolve_checkpoint_folder(const std::filesystem::path& folder);

// Keeps a snapshot of the finished checkpoint `folder` as HISTORY/step-NNNNNN (hard links to
// its files, which are never rewritten in place; copies where links fail) and removes the
// oldest snapshots beyond `keep`. Each snapshot is a complete checkpoint (eval, generate,
// logits read it). Returns the snapshot's folder.
std::filesystem::path snapshot_checkpoint(const std::filesystem::path& folder, const std::filesystem::path& history,
                                          std::int64_t step, std::int64_t keep);

// The training state saved in a checkpoint, for train(..., &state). FileFormatError when
// the checkpoint has none (e.g. an imported model) or its files are damaged. Whether the
// optimizer state fits the model is checked when the optimizer loads it (names and shapes,
// Optimizer::load_state, and the optimizer type, train()).
TrainingState load_training_state(const std::filesystem::path& folder);

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
