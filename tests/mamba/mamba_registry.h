#pragma once
// A registry with the built-ins and the mamba plugin, loaded from the file the build
// produced (STRATA_MAMBA_PLUGIN), and a helper that builds one mamba mixer.
#include <string>
#include <vector>

#include "plugin_registry.h"

namespace strata::test {

inline ComponentRegistry& mamba_registry() {
  static ComponentRegistry registry;
  static const bool ready = (add_builtins_and_plugins(registry, {STRATA_MAMBA_PLUGIN}), true);
  (void)ready;
  return registry;
}

// A mamba mixer with the given keys ("d_state=4", ...), built like a layer would be.
inline std::shared_ptr<Mixer> make_mamba(const std::vector<std::string>& keys, std::int64_t d_model,
                                         DType dtype = DType::f64, std::uint64_t seed = 1) {
  Generator gen(seed);
  return make_component<Mixer>(mamba_registry(), ComponentKind::mixer, "mamba", keys,
                               layer_context(mamba_registry(), gen, d_model, dtype));
}

}  // namespace strata::test
