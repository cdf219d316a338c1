#pragma once
// Hugging Face interop: a local model folder (config.json + safetensors, single file or
// sharded with model.safetensors.index.json) of an architecture a loaded plugin maps
// (the bundled plugins: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
// Qwen3ForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM, MambaForCausalLM and
// JambaForCausalLM) becomes a strata checkpoint, and back. What each architecture and
// component reads, writes and names is declared by the plugins (strata/hf_mapping.h); this
// is the generic driver.
//
//   import_hf("Mixtral-8x7B-v0.1/", "mixtral-ckpt/", registry);   // experiment.toml + model.safetensors
//   export_hf("mixtral-ckpt/", "mixtral-hf/", registry);           // config.json + model.safetensors
//
// Every tensor is mapped by name (docs/interop.md lists the table). A tensor of the folder that
// nothing maps, a tensor the model needs that the folder lacks, or a shape that disagrees
// with config.json is a FileFormatError naming the tensor; so is a config.json without a
// key the architecture needs, or with a setting strata cannot reproduce exactly.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "strata/checkpoint.h"
#include "strata/experiment.h"
#include "strata/model.h"
#include "strata/registry.h"

namespace strata {

struct HfImportResult {
  std::string architecture;   // "LlamaForCausalLM", ...
  std::int64_t tensors = 0;   // strata tensors written
  std::int64_t parameters = 0;
  std::vector<std::string> tokenizers;  // tokenizer files copied with the model
  std::vector<std::string> tokenizer_refusals;  // why a tokenizer file of the folder was not
};

// Reads `hf_folder` and writes a checkpoint folder `out` (created). `registry` holds the
// plugins the architecture needs (attention, mamba, moe, jamba); `options` are those of
// the experiment it builds.
HfImportResult import_hf(const std::filesystem::path& hf_folder, const std::filesystem::path& out,
                         ComponentRegistry& registry, const ExperimentOptions& options = {});

// The experiment (model-only TOML) a Hugging Face config.json describes, and its
// architecture name. Throws FileFormatError for a missing key or unsupported setting.
std::string hf_config_to_toml(const std::filesystem::path& config_json, const ComponentRegistry& registry,
                              std::string* architecture = nullptr);

// How an import treats every key of a config.json: read (honoured; a value strata cannot
// reproduce would have stopped it), or irrelevant to the numerics and why. Throws as
// hf_config_to_toml does (a key nobody classified, a refused value).
struct HfKeyUse {
  std::string key;   // dotted inside objects: "rope_parameters.rope_theta"
  bool read = true;  // false: irrelevant
  std::string why;   // irrelevant: why it cannot change the model
};
std::vector<HfKeyUse> explain_hf_config(const std::filesystem::path& config_json, const ComponentRegistry& registry,
                                        std::string* architecture = nullptr);

// Writes the checkpoint `checkpoint` as a Hugging Face folder `out` (config.json and
// model.safetensors). Throws FileFormatError when the model matches no registered
// architecture (e.g. a shortconv mixer) or has a setting it lacks (a GELU mlp).
std::string export_hf(const std::filesystem::path& checkpoint, const std::filesystem::path& out,
                      ComponentRegistry& registry, const ExperimentOptions& options = {},
                      const CheckpointChecks& checks = {});

// Tensors named and shaped like the model's parameters (the parameters themselves, or their
// gradients), renamed and reshaped into the Hugging Face layout export_hf writes (f32).
// Throws FileFormatError when the model matches no registered architecture.
std::vector<std::pair<std::string, Tensor>> to_hf_layout(const Experiment& experiment, const Model& model,
                                                         const ComponentRegistry& registry,
                                                         const std::vector<std::pair<std::string, Tensor>>& tensors);

}  // namespace strata
