#pragma once
// A registry with the built-ins and the attention plugin, loaded from the file the build
// produced (STRATA_ATTENTION_PLUGIN), and a helper that builds one attention mixer.
#include <string>
#include <vector>

#include "plugin_registry.h"

namespace strata::test {

inline ComponentRegistry& attention_registry() {
  static ComponentRegistry registry;
  static const bool ready = (add_builtins_and_plugins(registry, {STRATA_ATTENTION_PLUGIN}), true);
  (void)ready;
  return registry;
}

// An attention mixer with the given keys ("n_heads=4", ...), built like a layer would be.
inline std::shared_ptr<Mixer> make_attention(const std::vector<std::string>& keys, std::int64_t d_model,
                                             DType dtype = DType::f64, std::uint64_t seed = 1) {
  Generator gen(seed);
  return make_component<Mixer>(attention_registry(), ComponentKind::mixer, "attention", keys,
                               layer_context(attention_registry(), gen, d_model, dtype));
}

}  // namespace strata::test
