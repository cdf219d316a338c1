// Hugging Face tensors <-> strata parameters, and the import/export entry points.
//
// Every strata parameter has one rule (hf::TensorRule, declared by its component's
// mapping): which Hugging Face tensor(s) it comes from and how they combine. Most are
// renames; others concatenate parts along dim 0 (mlp [gate; up] rows), stack experts
// ([E, ...] from experts.{e}.*) or drop a size-1 dimension (mamba's conv1d [E, 1, K]).
#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hf/hf_architecture.h"
#include "io/checkpoint_integrity.h"
#include "strata/atomic_file.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/error.h"
#include "strata/hf.h"
#include "strata/ops.h"
#include "strata/safetensors.h"

namespace strata {

namespace fs = std::filesystem;
using namespace hf_detail;


namespace {

// The shard file an index entry names, which must lie in the model folder itself: a plain
// file name or a path below the folder, never absolute, never through "..", and (symbolic
// links resolved) still inside the folder.
fs::path shard_path(const fs::path& folder, const fs::path& index, const std::string& tensor, const std::string& file) {
  const fs::path relative(file);
  const auto refuse = [&](const std::string& why) {
    return FileFormatError(index.string() + ": weight_map[\"" + tensor + "\"] names \"" + file + "\", " + why,
                           "an index may only name shard files inside the model folder; download the model again");
  };
  if (file.empty() || relative.is_absolute() || relative.has_root_name() || relative.has_root_directory())
    throw refuse("which is not a relative file name");
  for (const fs::path& part : relative)
    if (part == "..") throw refuse("which leads out of the model folder");
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(folder, ec);
  const fs::path target = fs::weakly_canonical(folder / relative, ec);
  const auto [end, unused] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  if (ec || end != base.end()) throw refuse("which a symbolic link leads out of the model folder");
  return folder / relative;
}

// The tensors of a Hugging Face folder: model.safetensors, or the shards an index names.
// Every tensor loaded must be floating point and finite.
class HfTensors {
 public:
  explicit HfTensors(const fs::path& folder) {
    std::error_code ec;
    const fs::path index = folder / "model.safetensors.index.json";
    if (fs::is_regular_file(index, ec)) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(std::ifstream(index));
      } catch (const nlohmann::json::exception& e) {
        throw FileFormatError(index.string() + ": not JSON (" + e.what() + ")");
      }
      if (!j.contains("weight_map") || !j["weight_map"].is_object())
        throw FileFormatError(index.string() + ": no \"weight_map\" object");
      std::map<std::string, std::shared_ptr<safetensors::Reader>> shards;
      for (const auto& [name, file] : j["weight_map"].items()) {
        if (!file.is_string()) throw FileFormatError(index.string() + ": weight_map[\"" + name + "\"] is not a file name");
        auto& shard = shards[file.get<std::string>()];
        if (!shard) shard = std::make_shared<safetensors::Reader>(shard_path(folder, index, name, file.get<std::string>()));
        if (!shard->find(name))
          throw FileFormatError(index.string() + ": maps '" + name + "' to " + file.get<std::string>() +
                                ", which does not hold it", "the shards do not match their index; download them again");
        where_[name] = shard;
      }
    } else if (fs::is_regular_file(folder / "model.safetensors", ec)) {
      auto reader = std::make_shared<safetensors::Reader>(folder / "model.safetensors");
      for (const auto& t : reader->tensors()) where_[t.name] = reader;
    } else {
      throw FileFormatError(folder.string() + ": no model.safetensors or model.safetensors.index.json",
                            "strata reads safetensors weights; convert .bin checkpoints with transformers' "
                            "save_pretrained(..., safe_serialization=True)");
    }
  }

  bool has(const std::string& name) const { return where_.count(name) != 0; }

  // BF16 or F16 when every tensor of the folder is stored in it (as published checkpoints
  // are): the import then builds and writes the model in that type, 2 bytes per parameter,
  // with no f32 copy of the whole model. Otherwise (F32, or a mix) f32.
  DType storage_dtype() const {
    std::set<const safetensors::Reader*> shards;
    for (const auto& [name, reader] : where_) shards.insert(reader.get());
    std::set<DType> types;
    for (const safetensors::Reader* shard : shards) types.insert(safetensors::common_float_dtype(*shard));
    return types.size() == 1 ? *types.begin() : DType::f32;
  }
  Tensor load(const std::string& name, const std::string& for_tensor) {
    auto it = where_.find(name);
    if (it == where_.end())
      throw FileFormatError("missing tensor '" + name + "' (needed for strata's " + for_tensor + ")",
                            "the folder's weights do not match its config.json, or the download is incomplete");
    used_.insert(name);
    const safetensors::Reader& reader = *it->second;
    const std::string& dtype = reader.find(name)->dtype;
    if (!safetensors::is_float_dtype(dtype))
      throw FileFormatError(reader.file().string() + ": tensor '" + name + "' has dtype " + dtype +
                                "; model weights are floating point",
                            "the file is damaged or was relabelled; download it again");
    Tensor value = reader.load(name);
    require_finite(value, reader.file(), name);
    return value;
  }
  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto& [name, reader] : where_)
      if (!used_.count(name)) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, std::shared_ptr<safetensors::Reader>> where_;
  std::set<std::string> used_;
};

void require_shape(const Tensor& t, const Shape& shape, const std::string& hf_name, const std::string& strata_name) {
  if (!(t.shape() == shape))
    throw FileFormatError("tensor '" + hf_name + "' has shape " + t.shape().to_string() + ", but config.json implies " +
                              shape.to_string() + " (strata's " + strata_name + ")",
                          "the weights do not match config.json");
}

// A rule's Hugging Face names for expert `e` ("{e}" replaced).
std::vector<std::string> names_for_expert(const hf::TensorRule& r, std::int64_t e) {
  std::vector<std::string> out;
  for (std::string name : r.hf) {
    if (const std::size_t at = name.find("{e}"); at != std::string::npos) name.replace(at, 3, std::to_string(e));
    out.push_back(std::move(name));
  }
  return out;
}

bool per_expert(const hf::TensorRule& r) {
  return std::any_of(r.hf.begin(), r.hf.end(), [](const std::string& n) { return n.find("{e}") != std::string::npos; });
}

// The shape of one Hugging Face part of a strata tensor (or of one expert's slice) `shape`
// made of `parts` pieces along dim 0.
Shape part_shape(Shape shape, std::size_t parts, int unsqueeze, const std::string& strata_name) {
  if (shape.empty() || shape[0] % std::int64_t(parts) != 0)
    throw FileFormatError("strata tensor '" + strata_name + "' of shape " + shape.to_string() + " cannot be split into " +
                              std::to_string(parts) + " equal Hugging Face tensors",
                          "the component's Hugging Face mapping does not fit its parameter");
  shape = shape.with(0, shape[0] / std::int64_t(parts));
  return unsqueeze >= 0 ? shape.insert(std::min(unsqueeze, shape.rank()), 1) : shape;
}

// values + offset, in the values' dtype (computed in f32: bf16 checkpoints too).
Tensor offset_by(const Tensor& values, double offset) {
  if (offset == 0.0) return values;
  return add(values.to(DType::f32), offset).to(values.dtype());
}

// The strata tensor `target` (its shape) from its Hugging Face tensors (rule: absolute names).
Tensor gather(const hf::TensorRule& r, const Tensor& target, HfTensors& hf) {
  const bool experts = per_expert(r) || r.strata_leading_one;
  if (r.strata_leading_one && target.size(0) != 1)
    throw FileFormatError("strata tensor '" + r.strata + "' of shape " + target.shape().to_string() +
                              " has no single Hugging Face counterpart (one tensor of its leading size 1)",
                          "the component's Hugging Face mapping does not fit its parameter");
  const Shape item = experts ? target.shape().drop(0) : target.shape();
  const Shape each = part_shape(item, r.hf.size(), r.hf_unsqueeze, r.strata);
  const std::int64_t n_items = experts ? target.size(0) : 1;
  std::vector<Tensor> items;
  for (std::int64_t e = 0; e < n_items; ++e) {
    std::vector<Tensor> pieces;
    for (const std::string& name : names_for_expert(r, e)) {
      Tensor t = hf.load(name, r.strata);
      require_shape(t, each, name, r.strata);
      pieces.push_back(r.hf_unsqueeze >= 0 ? t.squeeze(r.hf_unsqueeze) : t);
    }
    Tensor joined = pieces.size() == 1 ? pieces[0] : concat(pieces, 0);
    items.push_back(experts ? joined.unsqueeze(0) : joined);
  }
  return offset_by(items.size() == 1 && !experts ? items[0] : concat(items, 0), r.hf_offset);
}

// The Hugging Face tensors of the strata tensor `value` (the inverse of gather).
std::vector<std::pair<std::string, Tensor>> scatter(const hf::TensorRule& r, const Tensor& value) {
  std::vector<std::pair<std::string, Tensor>> out;
  const bool experts = per_expert(r) || r.strata_leading_one;
  const std::int64_t n_items = experts ? value.size(0) : 1;
  for (std::int64_t e = 0; e < n_items; ++e) {
    const Tensor item = experts ? value.slice(0, e, e + 1).squeeze(0) : value;
    const std::vector<std::string> names = names_for_expert(r, e);
    const std::int64_t rows = item.size(0) / std::int64_t(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
      Tensor piece = names.size() == 1 ? item : item.slice(0, std::int64_t(i) * rows, std::int64_t(i + 1) * rows);
      piece = offset_by(piece, -r.hf_offset).contiguous();
      out.emplace_back(names[i], r.hf_unsqueeze >= 0 ? piece.unsqueeze(r.hf_unsqueeze) : piece);
    }
  }
  return out;
}

hf::ConfigView read_config(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw FileFormatError(file.string() + ": no such file", "a Hugging Face model folder holds config.json");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw FileFormatError(file.string() + ": cannot be read");
  return hf::ConfigView::parse(text.str(), file.string());
}

void verify_written_weights(const Model& model, const fs::path& file) {
  const safetensors::Reader reader(file);
  const auto parameters = model.named_parameters();
  if (reader.tensors().size() != parameters.size())
    throw Error(file.string() + ": holds " + std::to_string(reader.tensors().size()) + " tensors for the model's " +
                std::to_string(parameters.size()) + " parameters after writing");
  for (const auto& p : parameters) {
    const Tensor back = reader.load(p.name).to(DType::f32).contiguous();  // checks the digest written with it
    const Tensor want = p.tensor.to(DType::f32).contiguous();
    if (!(back.shape() == want.shape()) ||
        std::memcmp(back.raw_data(), want.raw_data(), std::size_t(want.numel()) * sizeof(float)) != 0)
      throw Error(file.string() + ": tensor '" + p.name + "' reads back different from what was written",
                  "the disk or the file system changed it; import again, to another disk");
  }
}

}  // namespace

std::string hf_config_to_toml(const fs::path& config_json, const ComponentRegistry& registry,
                              std::string* architecture) {
  const hf::ConfigView config = read_config(config_json);
  const hf::ArchitectureMapping& arch = architecture_of_config(config, registry);
  if (architecture) *architecture = arch.name;
  return config_to_toml(arch, config, registry);
}

std::vector<HfKeyUse> explain_hf_config(const fs::path& config_json, const ComponentRegistry& registry,
                                        std::string* architecture) {
  const hf::ConfigView config = read_config(config_json);
  const hf::ArchitectureMapping& arch = architecture_of_config(config, registry);
  if (architecture) *architecture = arch.name;
  (void)config_to_toml(arch, config, registry);  // throws for an unclassified key or a refused value
  std::vector<HfKeyUse> out;
  for (const hf::ConfigView::KeyUse& use : config.key_uses())
    out.push_back({use.key, use.how == hf::ConfigView::KeyUse::How::read, use.why});
  return out;
}

HfImportResult import_hf(const fs::path& folder, const fs::path& out, ComponentRegistry& registry,
                         const ExperimentOptions& options) {
  HfImportResult result;
  const hf::ConfigView config = read_config(folder / "config.json");
  load_experiment_plugins(options, registry);  // the plugins that map architectures
  const hf::ArchitectureMapping& arch = architecture_of_config(config, registry);
  result.architecture = arch.name;
  const std::string toml = config_to_toml(arch, config, registry);
  HfTensors hf(folder);
  const Experiment e = Experiment::from_string(toml, (out / kCheckpointExperimentFile).string(), options, registry);
  // The model in the weights' own type; each parameter is filled in place from its Hugging
  // Face tensors (read and widened one at a time), so memory holds one model, not two.
  const ExperimentObjects objects = build_experiment(e, registry, hf.storage_dtype());
  Model& model = *objects.model;
  std::vector<std::pair<std::string, Tensor>> weights;
  {
    autograd::NoGradGuard no_grad;
    for (const auto& p : model.named_parameters()) {
      Tensor target = p.tensor;
      target.copy_(gather(tensor_rule(arch, registry, model, p.name), target, hf));
      weights.emplace_back(p.name, target);
    }
  }
  // A tied model's file may still carry the head: only as the embedding's copy.
  if (e.model.boolean("tie_embeddings") && hf.has(arch.head)) {
    const Tensor head = hf.load(arch.head, "the tied LM head");
    const Tensor embedding = weights.front().second;  // named_parameters() starts with embedding.weight
    if (!(head.shape() == embedding.shape()) || head.to_vector<float>() != embedding.to_vector<float>())
      throw FileFormatError(arch.head + " differs from the embedding, but config.json ties them",
                            "set tie_word_embeddings = false in config.json");
  }
  if (const auto unused = hf.unused(); !unused.empty())
    throw FileFormatError(folder.string() + ": tensors strata does not map: " + join_first_names(unused),
                          "config.json does not describe these weights (a different architecture or options)");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw Error("cannot create " + out.string() + ": " + ec.message());
  safetensors::write(out / kCheckpointWeightsFile, weights,
                     {{"format", "strata"}, {"imported_from", result.architecture}});
  write_text_atomically(out / kCheckpointExperimentFile, toml);
  // The model's tokenizer travels with it (generate --text, logits --text, export-hf); one
  // strata cannot run faithfully stays behind.
  result.tokenizers = copy_tokenizer_files(folder, out, &result.tokenizer_refusals);
  write_checkpoint_manifest(out, std::nullopt);
  // Read back, one tensor at a time: every parameter is in the file under its name, passes
  // its digest and equals the model's (no second copy of the model in memory).
  verify_written_weights(model, out / kCheckpointWeightsFile);
  result.parameters = model.num_parameters();
  result.tensors = std::int64_t(weights.size());
  return result;
}

std::vector<std::pair<std::string, Tensor>> to_hf_layout(const Experiment& experiment, const Model& model,
                                                         const ComponentRegistry& registry,
                                                         const std::vector<std::pair<std::string, Tensor>>& tensors) {
  const hf::ArchitectureMapping& arch = *choose_export(experiment, model.dims().vocab_size, registry).architecture;
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, tensor] : tensors)
    for (auto& t : scatter(tensor_rule(arch, registry, model, name), tensor.detach().to(DType::f32)))
      out.push_back(std::move(t));
  return out;
}

namespace {

}  // namespace

std::vector<HfTensorSource> hf_detail::hf_export_tensors(const hf::ArchitectureMapping& arch,
                                                         const ComponentRegistry& registry, const Model& model) {
  std::vector<HfTensorSource> out;
  for (const auto& p : model.named_parameters()) {
    const hf::TensorRule rule = tensor_rule(arch, registry, model, p.name);
    const std::vector<std::pair<std::string, Tensor>> pieces = scatter(rule, p.tensor.detach());
    for (std::size_t i = 0; i < pieces.size(); ++i)
      out.push_back({pieces[i].first, pieces[i].second.shape(),
                     [rule, tensor = p.tensor, i] { return scatter(rule, tensor.detach())[i].second; }});
  }
  return out;
}

namespace {

// The Hugging Face tensors of the model's parameters, each made when it is written, in the
// parameters' own type (a bf16 checkpoint exports as bf16).
std::vector<safetensors::LazyTensor> hf_tensors_lazily(const hf::ArchitectureMapping& arch,
                                                       const ComponentRegistry& registry, const Model& model) {
  std::vector<safetensors::LazyTensor> out;
  for (HfTensorSource& t : hf_export_tensors(arch, registry, model)) out.push_back({t.name, std::move(t.make)});
  return out;
}

}  // namespace

std::string export_hf(const fs::path& checkpoint, const fs::path& out, ComponentRegistry& registry,
                      const ExperimentOptions& options, const CheckpointChecks& checks) {
  // In the checkpoint's own type (bf16 stays bf16), the tensors made one at a time as they
  // are written: the export holds the model once.
  const DType dtype =
      safetensors::common_float_dtype(safetensors::Reader(resolve_checkpoint_folder(checkpoint) / kCheckpointWeightsFile));
  LoadedCheckpoint c = load_checkpoint(checkpoint, options, registry, dtype, checks);
  const ExportChoice choice = choose_export(c.experiment, c.model->dims().vocab_size, registry);
  const hf::ArchitectureMapping& arch = *choice.architecture;
  const std::string& config = choice.config;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw Error("cannot create " + out.string() + ": " + ec.message());
  safetensors::write_lazily(out / "model.safetensors", hf_tensors_lazily(arch, registry, *c.model), {{"format", "pt"}});
  write_text_atomically(out / "config.json", config);
  copy_tokenizer_files(c.folder, out);
  return arch.name;
}

}  // namespace strata
