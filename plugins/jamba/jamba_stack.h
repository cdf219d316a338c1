#pragma once
// The `jamba` stack: Hugging Face JambaConfig's layer rules (huggingface/transformers,
// models/jamba/configuration_jamba.py; Jamba, Lieber et al. 2024, arXiv:2403.19887).
//   layer i's mixer is attention when i % attn_layer_period == attn_layer_offset, else Mamba;
//   its ffn is MoE when i % expert_layer_period == expert_layer_offset, else the dense MLP.
// Jamba-v0.1 (periods 8 and 2, offsets 4 and 1): attention at 4, 12, 20, 28, each with a
// dense MLP; MoE on every odd layer. The names of the four [model.mixer.*] / [model.ffn.*]
// entries used are keys of the stack, so each can carry its own settings.
#include <strata/components.h>

#include <string>
#include <vector>

namespace strata::jamba_plugin {

struct JambaLayout {
  std::int64_t attn_layer_period = 8, attn_layer_offset = 4;
  std::int64_t expert_layer_period = 2, expert_layer_offset = 1;
  std::string attention = "attention", mamba = "mamba", mlp = "mlp", moe = "moe";  // entry names
};

// The layer plan of the rules above, without checking that the entries exist.
std::vector<LayerSpec> jamba_plan(const JambaLayout& layout, std::int64_t n_layers);

class JambaStack : public Stack {
 public:
  JambaStack(JambaLayout layout, Config config) : layout_(std::move(layout)), config_(std::move(config)) {}
  // Throws a located ConfigError when an entry the plan needs is not declared.
  std::vector<LayerSpec> plan(const StackInputs& inputs) const override;

 private:
  JambaLayout layout_;
  Config config_;
};

}  // namespace strata::jamba_plugin
