#include "strata/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "distributed/sharded_parameters.h"
#include "io/checkpoint_integrity.h"
#include "io/training_state.h"
#include "strata/atomic_file.h"
#include "strata/autograd.h"
#include "strata/error.h"
#include "strata/memory_guard.h"
#include "strata/runtime.h"
#include "strata/safetensors.h"

namespace strata {

namespace fs = std::filesystem;

namespace {

// Every tensor a checkpoint holds for `model`: parameters, then buffers.
// What a checkpoint holds: every parameter (sharded ones whole, from `full_tensors`) and buffer.
std::vector<std::pair<std::string, Tensor>> model_tensors(const Model& model,
                                                          const std::vector<std::pair<std::string, Tensor>>& full_tensors) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& p : model.named_parameters()) {
    if (!p.shard) {
      out.emplace_back(p.name, p.tensor);
      continue;
    }
    const auto it = std::find_if(full_tensors.begin(), full_tensors.end(), [&](const auto& f) { return f.first == p.name; });
    if (it == full_tensors.end())
      throw ValueError("parameter " + p.name + " is sharded over ranks, and its full tensor was not gathered",
                       "gather the blocks first (gather_sharded_parameters) on every rank");
    out.emplace_back(p.name, it->second);
  }
  for (const auto& b : model.named_buffers()) out.emplace_back(b.name, b.tensor);
  return out;
}

}  // namespace

void save_model_weights(const Model& model, const fs::path& file, const std::map<std::string, std::string>& metadata,
                        const std::vector<std::pair<std::string, Tensor>>& full_tensors) {
  std::map<std::string, std::string> meta = metadata;
  meta.emplace("format", "strata");
  meta.emplace("strata_version", build_info());
  safetensors::write(file, model_tensors(model, full_tensors), meta);
}

void load_model_weights(Model& model, const fs::path& file, const CheckpointChecks& checks) {
  const safetensors::Reader reader(file);
  require_digests(reader, checks.allow_unverified);
  // A sharded parameter's block: its place in the file holds the full tensor.
  std::map<std::string, std::shared_ptr<const ParameterShard>> shards;
  std::vector<std::pair<std::string, Tensor>> targets;
  for (const auto& p : model.named_parameters()) {
    targets.emplace_back(p.name, p.tensor);
    if (p.shard) shards[p.name] = p.shard;
  }
  for (const auto& b : model.named_buffers()) targets.emplace_back(b.name, b.tensor);
  const auto file_shape = [&](const std::string& name, const Tensor& tensor) {
    const auto it = shards.find(name);
    if (it == shards.end()) return tensor.shape();
    std::vector<std::int64_t> dims(tensor.shape().begin(), tensor.shape().end());
    dims[0] = it->second->full_rows;
    return Shape(std::span<const std::int64_t>(dims));
  };
  const auto value_of = [&](const std::string& name, const Tensor& loaded) {
    const auto it = shards.find(name);
    return it == shards.end() ? loaded : block_of(loaded, *it->second);
  };
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> expected;
  for (const auto& [name, tensor] : targets) {
    expected.insert(name);
    const safetensors::TensorInfo* info = reader.find(name);
    if (info == nullptr)
      missing.push_back(name);
    else if (!(info->shape == file_shape(name, tensor)))
      mismatched.push_back(name + " (file " + info->shape.to_string() + ", model " +
                           file_shape(name, tensor).to_string() + ")");
    else if (safetensors::is_float_dtype(info->dtype) != is_floating(tensor.dtype()))
      mismatched.push_back(name + " (file " + info->dtype + ", model " + std::string(dtype_name(tensor.dtype())) + ")");
  }
  for (const auto& info : reader.tensors())
    if (!expected.count(info.name)) unexpected.push_back(info.name);
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    std::string message = file.string() + ": does not match the model:";
    if (!missing.empty()) message += "\n  missing tensors: " + join_first_names(missing);
    if (!mismatched.empty()) message += "\n  shape or dtype mismatches: " + join_first_names(mismatched);
    if (!unexpected.empty()) message += "\n  unexpected tensors: " + join_first_names(unexpected);
    throw FileFormatError(message, "the weights belong to another model; load them with the experiment they were "
                                   "saved with (the checkpoint's experiment.toml)");
  }
  // Every tensor is read and checked (digest, finite values) before the model is touched, so
  // a failing read leaves it unchanged; one tensor at a time, then again to copy it in, so
  // that loading never holds a second copy of the model.
  for (const auto& [name, tensor] : targets) {
    const Tensor value = reader.load(name);
    if (!checks.allow_nonfinite) require_finite(value, file, name);
  }
  autograd::NoGradGuard no_grad;
  for (const auto& [name, tensor] : targets) {
    Tensor destination = tensor;
    destination.copy_(value_of(name, reader.load(name)));
  }
}

fs::path resolve_checkpoint_folder(const fs::path& folder) {
  std::error_code ec;
  if (fs::is_directory(folder, ec)) return folder;
  // A writer killed between its renames: the new one is complete once its manifest
  // (written last) is there.
  const fs::path fresh = folder.string() + ".new", old = folder.string() + ".old";
  if (fs::is_regular_file(fresh / kCheckpointManifestFile, ec)) return fresh;
  if (fs::is_directory(old, ec)) return old;
  return folder;
}

namespace {

void copy_into(const fs::path& source, const fs::path& folder, const std::string& name) {
  std::error_code ec;
  if (fs::exists(folder / name, ec) && fs::equivalent(source, folder / name, ec)) return;
  fs::copy_file(source, folder / name, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error("cannot copy " + source.string() + " to " + folder.string() + ": " + ec.message());
}

}  // namespace

std::string copy_tokenizer_file(const Tokenizer& tokenizer, const fs::path& folder) {
  const fs::path& source = tokenizer.source();
  if (source.empty()) return "";
  const std::string name = source.extension() == ".model" ? "tokenizer.model" : "tokenizer.json";
  copy_into(source, folder, name);
  return name;
}

std::vector<std::string> copy_tokenizer_files(const fs::path& from, const fs::path& to,
                                              std::vector<std::string>* refusals) {
  std::vector<std::string> copied;
  std::error_code ec;
  for (const char* name : kCheckpointTokenizerFiles) {
    if (!fs::is_regular_file(from / name, ec)) continue;
    if (refusals) {
      try {
        load_tokenizer(from / name);
      } catch (const Error& e) {
        refusals->push_back(e.message());
        continue;
      }
    }
    copy_into(from / name, to, name);
    copied.push_back(name);
  }
  return copied;
}

std::shared_ptr<const Tokenizer> checkpoint_tokenizer(const LoadedCheckpoint& checkpoint,
                                                      const fs::path& override_path) {
  if (!override_path.empty()) return load_tokenizer(override_path);
  if (const auto file = find_tokenizer_file(checkpoint.folder)) return load_tokenizer(*file);
  if (checkpoint.task && checkpoint.task->tokenizer())
    return std::shared_ptr<const Tokenizer>(checkpoint.task, checkpoint.task->tokenizer());
  throw ValueError(checkpoint.folder.string() + " has no tokenizer: " +
                       (checkpoint.task ? "its task \"" + checkpoint.experiment.task.type() + "\" is synthetic"
                                        : std::string("it holds no tokenizer.json or tokenizer.model")),
                   "give token ids (--prompt/--tokens), or a tokenizer with --tokenizer FILE");
}

void save_checkpoint(const fs::path& folder, const Experiment& experiment, const Model& model,
                     const TrainingState* state, const Tokenizer* tokenizer) {
  const fs::path fresh = folder.string() + ".new", old = folder.string() + ".old";
  std::error_code ec;
  // An earlier writer killed between its renames: first put its complete folder in place.
  if (const fs::path current = resolve_checkpoint_folder(folder); current != folder && fs::exists(current, ec))
    fs::rename(current, folder, ec);
  fs::remove_all(fresh, ec);
  fs::create_directories(fresh, ec);
  if (ec) throw Error("cannot create checkpoint folder " + fresh.string() + ": " + ec.message());
  try {
    std::map<std::string, std::string> metadata;
    if (state) metadata["strata.step"] = std::to_string(state->step);
    save_model_weights(model, fresh / kCheckpointWeightsFile, metadata,
                       state ? state->gathered_parameters : std::vector<std::pair<std::string, Tensor>>{});
    if (state) save_training_state(fresh, *state, model);
    write_text_atomically(fresh / kCheckpointExperimentFile, experiment.resolved_toml());
    if (tokenizer) copy_tokenizer_file(*tokenizer, fresh);
    // Last: its presence marks the new folder complete (resolve_checkpoint_folder).
    write_checkpoint_manifest(fresh, state ? std::optional<std::int64_t>(state->step) : std::nullopt);
  } catch (...) {
    fs::remove_all(fresh, ec);  // the space a full disk needs back; the previous checkpoint stays
    throw;
  }
  fs::remove_all(old, ec);
  if (fs::exists(folder, ec)) {
    fs::rename(folder, old, ec);
    if (ec) throw Error("cannot replace checkpoint " + folder.string() + ": " + ec.message());
  }
  fs::rename(fresh, folder, ec);
  if (ec) throw Error("cannot move " + fresh.string() + " to " + folder.string() + ": " + ec.message());
  fs::remove_all(old, ec);
}

fs::path snapshot_checkpoint(const fs::path& folder, const fs::path& history, std::int64_t step, std::int64_t keep) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%06lld", static_cast<long long>(step));
  const fs::path snapshot = history / name;
  const fs::path partial = snapshot.string() + ".new";
  std::error_code ec;
  fs::remove_all(partial, ec);
  fs::create_directories(partial, ec);
  if (ec) throw Error("cannot create checkpoint snapshot " + partial.string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(folder)) {
    const fs::path target = partial / entry.path().filename();
    fs::create_hard_link(entry.path(), target, ec);
    if (ec) fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing, ec);
    if (ec)
      throw Error("cannot keep checkpoint snapshot " + snapshot.string() + ": " + ec.message() + " (" +
                  entry.path().string() + ")");
  }
  fs::remove_all(snapshot, ec);
  fs::rename(partial, snapshot, ec);
  if (ec) throw Error("cannot move " + partial.string() + " to " + snapshot.string() + ": " + ec.message());

  // Oldest first by step number (names may outgrow their six digits).
  std::vector<std::pair<std::int64_t, fs::path>> kept;
  for (const auto& entry : fs::directory_iterator(history)) {
    const std::string n = entry.path().filename().string();
    if (!entry.is_directory() || n.rfind("step-", 0) != 0 || n.find('.') != std::string::npos) continue;
    try {
      kept.emplace_back(std::stoll(n.substr(5)), entry.path());
    } catch (const std::exception&) {
      // not a snapshot of ours: leave it alone
    }
  }
  std::sort(kept.begin(), kept.end());
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max<std::int64_t>(keep, 1)) < kept.size(); ++i)
    fs::remove_all(kept[i].second, ec);
  return snapshot;
}

LoadedCheckpoint load_checkpoint(const fs::path& path, const ExperimentOptions& options, ComponentRegistry& registry,
                                 DType dtype, const CheckpointChecks& checks) {
  const fs::path folder =
      resolve_checkpoint_folder(path.filename() == kCheckpointWeightsFile ? path.parent_path() : path);
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
  verify_checkpoint_manifest(folder, checks.allow_unverified);
  LoadedCheckpoint out;
  out.folder = folder;
  out.experiment = Experiment::load(folder / kCheckpointExperimentFile, options, registry);
  if (checks.check_memory) require_decoding_fits(out.experiment, registry, std::string(dtype_name(dtype)));
  ExperimentObjects objects = build_experiment(out.experiment, registry, dtype);
  out.model = std::move(objects.model);
  out.task = std::move(objects.task);
  load_model_weights(*out.model, folder / kCheckpointWeightsFile, checks);
  return out;
}

}  // namespace strata
