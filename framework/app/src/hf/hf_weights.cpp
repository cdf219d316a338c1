// Hugging Face tensors <-> strata parameters, and the import/export entry points.
//
// Every strata parameter has one rule: which Hugging Face tensor(s) it comes from and how
// they combine. Most are renames; three reshape:
//   mamba conv1d.weight      HF [E, 1, K]             <-> strata [E, K]
//   mlp up.weight            HF gate_proj, up_proj    <-> strata [gate; up] rows  [2F, D]
//   moe experts.gate_up_proj HF experts.e.{gate, up}  <-> strata [E, 2F, D]; down_proj [E, D, F]
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "hf/hf_arch.h"
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

enum class Rule { copy, conv, concat_gate_up, stack_gate_up, stack_down };

struct TensorRule {
  Rule rule = Rule::copy;
  std::vector<std::string> hf;  // copy/conv: 1 name; concat: gate, up; stacks: per expert (gate, up pairs or down)
};

// "layers.3.mixer.in_proj.weight" -> (3, "mixer.in_proj.weight"); -1 outside layers.
std::pair<int, std::string> split_layer(const std::string& name) {
  if (name.rfind("layers.", 0) != 0) return {-1, name};
  const std::size_t dot = name.find('.', 7);
  return {std::stoi(name.substr(7, dot - 7)), name.substr(dot + 1)};
}

TensorRule rule_for(Arch arch, const Names& n, const Model& model, const std::string& name, std::int64_t n_experts) {
  if (name == "embedding.weight") return {Rule::copy, {n.embedding}};
  if (name == "final_norm.weight") return {Rule::copy, {n.final_norm}};
  if (name == "head") return {Rule::copy, {n.head}};
  const auto [layer, rest] = split_layer(name);
  if (layer >= 0) {
    const std::string prefix = n.layer_prefix + std::to_string(layer) + ".";
    const LayerPlan& plan = model.plan()[std::size_t(layer)];
    if (rest == "mixer_norm.weight") return {Rule::copy, {prefix + n.mixer_norm + ".weight"}};
    if (rest == "ffn_norm.weight" && !n.ffn_norm.empty()) return {Rule::copy, {prefix + n.ffn_norm + ".weight"}};
    if (rest.rfind("mixer.", 0) == 0) {
      const std::string module = plan.mixer_type == "attention" ? n.attention : n.mamba;
      const std::string hf = prefix + module + rest.substr(5);
      if (!module.empty()) return {rest == "mixer.conv1d.weight" ? Rule::conv : Rule::copy, {hf}};
    }
    if (plan.ffn_type == "mlp" && !n.mlp.empty()) {
      const std::string p = prefix + n.mlp + ".";
      if (rest == "ffn.up.weight") return {Rule::concat_gate_up, {p + "gate_proj.weight", p + "up_proj.weight"}};
      if (rest == "ffn.down.weight") return {Rule::copy, {p + "down_proj.weight"}};
    }
    if (plan.ffn_type == "moe" && !n.moe.empty()) {
      const std::string p = prefix + n.moe + ".";
      if (rest == "ffn.router.weight") return {Rule::copy, {p + n.router + ".weight"}};
      TensorRule r;
      for (std::int64_t e = 0; e < n_experts; ++e) {
        const std::string expert = p + "experts." + std::to_string(e) + ".";
        if (rest == "ffn.experts.gate_up_proj") {
          r.rule = Rule::stack_gate_up;
          r.hf.push_back(expert + n.expert_gate + ".weight");
          r.hf.push_back(expert + n.expert_up + ".weight");
        } else if (rest == "ffn.experts.down_proj") {
          r.rule = Rule::stack_down;
          r.hf.push_back(expert + n.expert_down + ".weight");
        }
      }
      if (!r.hf.empty()) return r;
    }
  }
  throw FileFormatError("strata tensor '" + name + "' has no counterpart in " + arch_name(arch),
                        "the model uses a component option Hugging Face's class lacks");
}

// The tensors of a Hugging Face folder: model.safetensors, or the shards an index names.
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
        if (!shard) shard = std::make_shared<safetensors::Reader>(folder / file.get<std::string>());
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
  Tensor load(const std::string& name, const std::string& for_tensor) {
    auto it = where_.find(name);
    if (it == where_.end())
      throw FileFormatError("missing tensor '" + name + "' (needed for strata's " + for_tensor + ")",
                            "the folder's weights do not match its config.json, or the download is incomplete");
    used_.insert(name);
    return it->second->load(name);
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

// Routed experts in a stacked expert tensor [E, ...]; 0 for other tensors.
std::int64_t experts_in(const std::string& name, const Tensor& tensor) {
  return name.find("ffn.experts.") != std::string::npos ? tensor.size(0) : 0;
}

// The strata tensor `target` (its shape) from its Hugging Face tensors.
Tensor gather(const TensorRule& r, const std::string& name, const Tensor& target, HfTensors& hf) {
  const Shape& shape = target.shape();
  switch (r.rule) {
    case Rule::copy: {
      Tensor t = hf.load(r.hf[0], name);
      require_shape(t, shape, r.hf[0], name);
      return t;
    }
    case Rule::conv: {  // [E, 1, K] -> [E, K]
      Tensor t = hf.load(r.hf[0], name);
      require_shape(t, Shape{shape[0], 1, shape[1]}, r.hf[0], name);
      return t.reshape(shape);
    }
    case Rule::concat_gate_up: {  // gate [F, D], up [F, D] -> [2F, D]
      const Shape half{shape[0] / 2, shape[1]};
      Tensor gate = hf.load(r.hf[0], name), up = hf.load(r.hf[1], name);
      require_shape(gate, half, r.hf[0], name);
      require_shape(up, half, r.hf[1], name);
      return concat({gate, up}, 0);
    }
    case Rule::stack_gate_up:
    case Rule::stack_down: {
      const bool pairs = r.rule == Rule::stack_gate_up;
      const std::int64_t E = shape[0];
      const Shape each = pairs ? Shape{shape[1] / 2, shape[2]} : Shape{shape[1], shape[2]};
      std::vector<Tensor> parts;
      for (std::size_t i = 0; i < r.hf.size(); ++i) {
        Tensor t = hf.load(r.hf[i], name);
        require_shape(t, each, r.hf[i], name);
        parts.push_back(t);
      }
      std::vector<Tensor> experts;
      for (std::int64_t e = 0; e < E; ++e)
        experts.push_back(pairs ? concat({parts[2 * e], parts[2 * e + 1]}, 0) : parts[e]);
      for (Tensor& t : experts) t = t.unsqueeze(0);
      return concat(experts, 0);
    }
  }
  return {};
}

// The Hugging Face tensors of the strata tensor `value` (the inverse of gather).
std::vector<std::pair<std::string, Tensor>> scatter(const TensorRule& r, const Tensor& value) {
  std::vector<std::pair<std::string, Tensor>> out;
  switch (r.rule) {
    case Rule::copy:
      out.emplace_back(r.hf[0], value);
      break;
    case Rule::conv:
      out.emplace_back(r.hf[0], value.reshape({value.size(0), 1, value.size(1)}));
      break;
    case Rule::concat_gate_up: {
      const std::int64_t F = value.size(0) / 2;
      out.emplace_back(r.hf[0], value.slice(0, 0, F).contiguous());
      out.emplace_back(r.hf[1], value.slice(0, F, 2 * F).contiguous());
      break;
    }
    case Rule::stack_gate_up:
    case Rule::stack_down: {
      const bool pairs = r.rule == Rule::stack_gate_up;
      for (std::int64_t e = 0; e < value.size(0); ++e) {
        const Tensor expert = value.slice(0, e, e + 1).squeeze(0);
        if (pairs) {
          const std::int64_t F = expert.size(0) / 2;
          out.emplace_back(r.hf[2 * e], expert.slice(0, 0, F).contiguous());
          out.emplace_back(r.hf[2 * e + 1], expert.slice(0, F, 2 * F).contiguous());
        } else {
          out.emplace_back(r.hf[e], expert.contiguous());
        }
      }
      break;
    }
  }
  return out;
}

nlohmann::json read_config(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw FileFormatError(file.string() + ": no such file", "a Hugging Face model folder holds config.json");
  try {
    return nlohmann::json::parse(std::ifstream(file));
  } catch (const nlohmann::json::exception& e) {
    throw FileFormatError(file.string() + ": not JSON (" + e.what() + ")");
  }
}

}  // namespace

std::string hf_config_to_toml(const fs::path& config_json, std::string* architecture) {
  const nlohmann::json config = read_config(config_json);
  if (!config.is_object() || !config.contains("architectures") || !config["architectures"].is_array() ||
      config["architectures"].empty() || !config["architectures"][0].is_string())
    throw FileFormatError(config_json.string() + ": missing key \"architectures\" (e.g. [\"LlamaForCausalLM\"])",
                          "is this a Hugging Face config.json?");
  const std::string name = config["architectures"][0].get<std::string>();
  const Arch arch = arch_from_name(name, config_json);
  if (architecture) *architecture = name;
  return config_to_toml(arch, config, config_json);
}

HfImportResult import_hf(const fs::path& folder, const fs::path& out, ComponentRegistry& registry,
                         const ExperimentOptions& options) {
  HfImportResult result;
  const std::string toml = hf_config_to_toml(folder / "config.json", &result.architecture);
  const Arch arch = arch_from_name(result.architecture, folder / "config.json");
  HfTensors hf(folder);
  const Experiment e = Experiment::from_string(toml, (out / kCheckpointExperimentFile).string(), options, registry);
  const ExperimentObjects objects = build_experiment(e, registry);
  Model& model = *objects.model;
  const Names names = names_of(arch);
  std::vector<std::pair<std::string, Tensor>> weights;
  for (const auto& p : model.named_parameters()) {
    const TensorRule r = rule_for(arch, names, model, p.name, experts_in(p.name, p.tensor));
    weights.emplace_back(p.name, gather(r, p.name, p.tensor, hf));
  }
  // A tied model's file may still carry lm_head.weight: only as the embedding's copy.
  if (e.model.boolean("tie_embeddings") && hf.has(names.head)) {
    const Tensor head = hf.load(names.head, "the tied LM head");
    const Tensor embedding = weights.front().second;  // named_parameters() starts with embedding.weight
    if (!(head.shape() == embedding.shape()) || head.to_vector<float>() != embedding.to_vector<float>())
      throw FileFormatError(names.head + " differs from the embedding, but config.json ties them",
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
  // Read back through the normal path: the written file must load into the model exactly.
  load_model_weights(model, out / kCheckpointWeightsFile);
  result.parameters = model.num_parameters();
  result.tensors = std::int64_t(weights.size());
  return result;
}

std::vector<std::pair<std::string, Tensor>> to_hf_layout(const Experiment& experiment, const Model& model,
                                                         const std::vector<std::pair<std::string, Tensor>>& tensors) {
  const Arch arch = arch_of_experiment(experiment);
  const Names names = names_of(arch);
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, tensor] : tensors) {
    const TensorRule r = rule_for(arch, names, model, name, experts_in(name, tensor));
    for (auto& t : scatter(r, tensor.detach().to(DType::f32))) out.push_back(std::move(t));
  }
  return out;
}

std::string export_hf(const fs::path& checkpoint, const fs::path& out, ComponentRegistry& registry,
                      const ExperimentOptions& options) {
  LoadedCheckpoint c = load_checkpoint(checkpoint, options, registry);
  const Arch arch = arch_of_experiment(c.experiment);
  nlohmann::ordered_json config = experiment_to_config(arch, c.experiment);
  config["vocab_size"] = c.model->dims().vocab_size;
  std::vector<std::pair<std::string, Tensor>> parameters;
  for (const auto& p : c.model->named_parameters()) parameters.emplace_back(p.name, p.tensor);
  const auto tensors = to_hf_layout(c.experiment, *c.model, parameters);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw Error("cannot create " + out.string() + ": " + ec.message());
  safetensors::write(out / "model.safetensors", tensors, {{"format", "pt"}});
  write_text_atomically(out / "config.json", config.dump(2) + "\n");
  return arch_name(arch);
}

}  // namespace strata
