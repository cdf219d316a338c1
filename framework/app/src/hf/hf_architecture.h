#pragma once
// The generic side of Hugging Face interop: which registered architecture a config.json
// or a strata experiment is, the experiment a config.json describes, the config.json an
// experiment becomes, and where each strata parameter lives in the Hugging Face files.
// What each architecture and component reads and writes comes from the mappings plugins
// register (strata/hf_mapping.h); nothing here names a plugin's keys or tensors.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "strata/experiment.h"
#include "strata/hf_mapping.h"
#include "strata/model.h"
#include "strata/registry.h"

namespace strata::hf_detail {

// The architecture config.json names (its "architectures"[0]), or a FileFormatError
// listing those the loaded plugins provide.
const hf::ArchitectureMapping& architecture_of_config(const hf::ConfigView& config, const ComponentRegistry& registry);

// config.json -> a model-only strata experiment (TOML text).
std::string config_to_toml(const hf::ArchitectureMapping& arch, const hf::ConfigView& config,
                           const ComponentRegistry& registry);

// The architectures a strata experiment matches by its stack, its mixer and ffn types and the
// prenorm block (Llama, Mistral and Qwen2 all compose attention + mlp), in registration
// order; a FileFormatError saying what keeps it from them when none does.
std::vector<const hf::ArchitectureMapping*> architectures_of_experiment(const Experiment& e,
                                                                      const ComponentRegistry& registry);

// The first of those that can express the model (its mappings' export_config accept every
// setting), with the config.json it writes; a FileFormatError giving each one's obstacle.
struct ExportChoice {
  const hf::ArchitectureMapping* architecture = nullptr;
  std::string config;  // config.json text
};
ExportChoice choose_export(const Experiment& e, std::int64_t vocab_size, const ComponentRegistry& registry);

// One tensor of a model's Hugging Face export: its name and shape, and how to make it (in
// the parameter's own dtype) when it is written.
struct HfTensorSource {
  std::string name;
  Shape shape;
  std::function<Tensor()> make;
};
std::vector<HfTensorSource> hf_export_tensors(const hf::ArchitectureMapping& arch, const ComponentRegistry& registry,
                                              const Model& model);

// The config.json of experiment `e` as `arch` (JSON text). `vocab_size` is the model's.
std::string experiment_to_config(const hf::ArchitectureMapping& arch, const Experiment& e, std::int64_t vocab_size,
                                 const ComponentRegistry& registry);

// Where one strata parameter lives in a Hugging Face checkpoint: a TensorRule whose names
// are absolute ("model.layers.3.mlp.gate_proj.weight").
hf::TensorRule tensor_rule(const hf::ArchitectureMapping& arch, const ComponentRegistry& registry, const Model& model,
                           const std::string& name);

}  // namespace strata::hf_detail
