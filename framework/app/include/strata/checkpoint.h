#pragma once
// strata checkpoints. A checkpoint is a folder:
//   experiment.toml        the resolved experiment the weights belong to
//   model.safetensors      every parameter and buffer of the model under its module path
//                          ("layers.3.mixer.in_proj.weight", "layers.1.ffn.balance_0.expert_bias")
// and, in a training run's checkpoint, what resuming needs (TrainingState, trainer.h):
//   optimizer.safetensors  the optimizer's state() by name (AdamW: "m.<param>", "v.<param>")
//   state.json             step, random streams, optimizer type and step count, the open log window
//   tokenizer.json or tokenizer.model   the tokenizer of a text model (the text task's, or
//                          the imported model's), so that generate --text needs nothing else
//   manifest.json          written last: the step, and the size and digest of every file above
// A checkpoint is replaced as a whole: it is written to FOLDER.new, which then takes the
// place of FOLDER, so a killed writer leaves the previous checkpoint (or the complete new
// one) to load. Every file is readable by standard tools (safetensors, JSON, TOML).
//
// Loading verifies (docs/reliability.md): the manifest against the files (sizes, digests,
// one step for all), each tensor against its digest as it is read, dtypes and shapes against
// the model, every value finite, and state.json's fields by range. Each failure is a
// FileFormatError naming the file, the tensor or the field; nothing is loaded into the model
// until everything has been read and checked.
//
//   save_checkpoint("runs/x/checkpoint", experiment, *model);
//   LoadedCheckpoint c = load_checkpoint("runs/x/checkpoint", {}, registry);
//   c.model->forward(ids, ctx);
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "strata/experiment.h"
#include "strata/model.h"
#include "strata/tokenizer.h"
#include "strata/trainer.h"

namespace strata {

inline constexpr const char* kCheckpointExperimentFile = "experiment.toml";
inline constexpr const char* kCheckpointWeightsFile = "model.safetensors";
inline constexpr const char* kCheckpointOptimizerFile = "optimizer.safetensors";
inline constexpr const char* kCheckpointStateFile = "state.json";
inline constexpr const char* kCheckpointManifestFile = "manifest.json";
// A checkpoint's tokenizer file is named by its format.
inline constexpr const char* kCheckpointTokenizerFiles[] = {"tokenizer.json", "tokenizer.model"};

// Checks a user may relax, for debugging (the CLI's --allow-nonfinite and --unverified).
struct CheckpointChecks {
  bool allow_nonfinite = false;   // load NaN/inf weights and optimizer moments
  // Skip the manifest (missing, or not matching the files) and accept files without tensor
  // digests. Tensors that carry a digest are still verified: damaged data never loads.
  bool allow_unverified = false;
  bool check_memory = true;       // refuse, before building it, a model that cannot fit (memory_guard.h)
};

// Writes the model's parameters and buffers (in their own dtypes) to a safetensors file;
// `metadata` goes into its header. A parameter sharded over ranks (expert parallelism) is
// written whole: its full tensor must be in `full_tensors` (gather_sharded_parameters).
void save_model_weights(const Model& model, const std::filesystem::path& file,
                        const std::map<std::string, std::string>& metadata = {},
                        const std::vector<std::pair<std::string, Tensor>>& full_tensors = {});

// Fills every parameter and buffer of `model` from a safetensors file strata wrote,
// converting between float dtypes where needed. Every tensor of the model must be present
// with its exact shape, a dtype of its kind (float for float, integer for integer), intact
// (its digest) and finite, and the file may hold no others; otherwise FileFormatError names
// the tensors and the model is left unchanged. A sharded parameter takes its block of the
// file's full tensor.
void load_model_weights(Model& model, const std::filesystem::path& file, const CheckpointChecks& checks = {});

// Writes the checkpoint `folder` (replacing one that is there, as a whole): experiment.toml,
// model.safetensors, when `state` is given optimizer.safetensors and state.json, and a copy
// of `tokenizer`'s file when it has one (byte-level text needs none).
void save_checkpoint(const std::filesystem::path& folder, const Experiment& experiment, const Model& model,
                     const TrainingState* state = nullptr, const Tokenizer* tokenizer = nullptr);

// Copies a tokenizer's file into `folder` as tokenizer.json / tokenizer.model (by its
// format); nothing for a tokenizer without a file. Returns the name written, or "".
std::string copy_tokenizer_file(const Tokenizer& tokenizer, const std::filesystem::path& folder);

// Copies the tokenizer files of folder `from` (tokenizer.json, tokenizer.model) into `to`;
// returns the names copied. With `refusals`, each is loaded first, and one strata cannot
// run faithfully stays behind, the reason appended to `refusals`.
std::vector<std::string> copy_tokenizer_files(const std::filesystem::path& from, const std::filesystem::path& to,
                                              std::vector<std::string>* refusals = nullptr);


// The folder to read for checkpoint `folder`: itself, or after a writer was killed between
// its two renames, the complete FOLDER.new (its manifest.json is there) or the previous
// FOLDER.old.
std::filesystem::path resolve_checkpoint_folder(const std::filesystem::path& folder);

// Keeps a snapshot of the finished checkpoint `folder` as HISTORY/step-NNNNNN (hard links to
// its files, which are never rewritten in place; copies where links fail) and removes the
// oldest snapshots beyond `keep`. Each snapshot is a complete checkpoint (eval, generate,
// logits read it). Returns the snapshot's folder.
std::filesystem::path snapshot_checkpoint(const std::filesystem::path& folder, const std::filesystem::path& history,
                                          std::int64_t step, std::int64_t keep);

// The training state saved in a checkpoint, for train(..., &state), after verifying the
// checkpoint's manifest (its step must be state.json's). FileFormatError when the checkpoint
// has none (e.g. an imported model), when a field of state.json is missing or out of range,
// or when a file is damaged. Whether the optimizer state fits the model is checked when the
// optimizer loads it (names and shapes, Optimizer::load_state, and the optimizer type, train()).
TrainingState load_training_state(const std::filesystem::path& folder, const CheckpointChecks& checks = {});

struct LoadedCheckpoint {
  std::filesystem::path folder;  // the folder read (after resolve_checkpoint_folder)
  Experiment experiment;
  std::shared_ptr<Model> model;
  std::shared_ptr<Task> task;  // null when the experiment has no [task]
};

// Verifies the checkpoint's manifest, builds its model from its experiment.toml (loading the
// plugins it needs into `registry`) and loads its weights. `folder` may also be the
// model.safetensors file inside it. Throws FileFormatError for a folder that is not a
// checkpoint or fails a check.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& folder, const ExperimentOptions& options,
                                 ComponentRegistry& registry, DType dtype = DType::f32,
                                 const CheckpointChecks& checks = {});

// The tokenizer of a loaded checkpoint: `override_path` when given; else the checkpoint
// folder's tokenizer file; else its task's tokenizer (bytes for a text task). Throws
// ValueError saying what to give when the model has none (synthetic tasks,
// or a model-only checkpoint imported without a tokenizer).
std::shared_ptr<const Tokenizer> checkpoint_tokenizer(const LoadedCheckpoint& checkpoint,
                                                      const std::filesystem::path& override_path = {});

}  // namespace strata
