#pragma once
// The four Hugging Face architectures strata reads and writes: how each one's config.json
// translates to a strata experiment, and how each names its tensors.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "strata/experiment.h"

namespace strata::hf_detail {

enum class Arch { llama, mixtral, mamba, jamba };

Arch arch_from_name(const std::string& architecture, const std::filesystem::path& config_json);
std::string arch_name(Arch arch);

// Where a strata tensor lives in a Hugging Face checkpoint of `arch`.
struct Names {
  std::string embedding, final_norm, head = "lm_head.weight";
  std::string layer_prefix;           // "model.layers." / "backbone.layers."
  std::string mixer_norm, ffn_norm;   // per layer: "input_layernorm", ...
  std::string attention, mamba;       // mixer modules: "self_attn", "mamba" / "mixer"
  std::string mlp, moe, router;       // ffn modules: "mlp" / "feed_forward", "block_sparse_moe", "gate"
  std::string expert_gate, expert_up, expert_down;  // "w1", "w3", "w2" (Mixtral) or *_proj
};
Names names_of(Arch arch);

// config.json -> a model-only strata experiment (TOML text).
std::string config_to_toml(Arch arch, const nlohmann::json& config, const std::filesystem::path& config_json);

// A strata experiment -> the architecture it matches and its config.json. Throws
// FileFormatError saying what keeps the model from being that architecture.
Arch arch_of_experiment(const Experiment& e);
nlohmann::ordered_json experiment_to_config(Arch arch, const Experiment& e);

}  // namespace strata::hf_detail
