#include "jamba_stack.h"

#include <algorithm>

namespace strata::jamba_plugin {

std::vector<LayerSpec> jamba_plan(const JambaLayout& l, std::int64_t n_layers) {
  std::vector<LayerSpec> plan(static_cast<std::size_t>(n_layers));
  for (std::int64_t i = 0; i < n_layers; ++i) {
    plan[std::size_t(i)].mixer = i % l.attn_layer_period == l.attn_layer_offset ? l.attention : l.mamba;
    plan[std::size_t(i)].ffn = i % l.expert_layer_period == l.expert_layer_offset ? l.moe : l.mlp;
  }
  return plan;
}

std::vector<LayerSpec> JambaStack::plan(const StackInputs& in) const {
  const std::vector<LayerSpec> layers = jamba_plan(layout_, in.n_layers);
  // Only the entries some layer uses must be declared (a 4-layer model has no attention
  // layer with the default offset 4).
  auto require = [&](const std::string& key, const std::string& entry, const std::vector<std::string>& declared,
                     const std::string& kind, bool used) {
    if (!used || std::find(declared.begin(), declared.end(), entry) != declared.end()) return;
    throw config_.error(key, "names " + kind + " entry \"" + entry + "\", which is not declared under [model." + kind + "]",
                        "add [model." + kind + "." + entry + "] with its type, or set " + key + " to a declared entry");
  };
  auto uses = [&](auto member, const std::string& entry) {
    return std::any_of(layers.begin(), layers.end(), [&](const LayerSpec& s) { return s.*member == entry; });
  };
  require("attention", layout_.attention, in.mixers, "mixer", uses(&LayerSpec::mixer, layout_.attention));
  require("mamba", layout_.mamba, in.mixers, "mixer", uses(&LayerSpec::mixer, layout_.mamba));
  require("mlp", layout_.mlp, in.ffns, "ffn", uses(&LayerSpec::ffn, layout_.mlp));
  require("moe", layout_.moe, in.ffns, "ffn", uses(&LayerSpec::ffn, layout_.moe));
  return layers;
}

}  // namespace strata::jamba_plugin
