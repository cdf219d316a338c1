#pragma once
// A registry with the built-ins and the mamba plugin, loaded from the file the build
// produced (STRATA_MAMBA_PLUGIN), and a helper that builds one mamba mixer.
#include <string>
#include <vector>

#include "strata/components.h"
#include "strata/plugin_loader.h"
#include "strata/registry.h"
#include "strata/testing/component_check.h"

namespace strata::test {

inline ComponentRegistry& mamba_registry() {
  static ComponentRegistry registry;
  static const bool ready = (register_builtin_components(registry), load_plugin(registry, STRATA_MAMBA_PLUGIN), true);
  (void)ready;
  return registry;
}

// A mamba mixer with the given keys ("d_state=4", ...), built like a layer would be.
inline std::shared_ptr<Mixer> make_mamba(const std::vector<std::string>& keys, std::int64_t d_model,
                                         DType dtype = DType::f64, std::uint64_t seed = 1) {
  const ComponentRegistry& registry = mamba_registry();
  const Config config = testing::component_config(registry, ComponentKind::mixer, "mamba", keys);
  Generator gen(seed);
  BuildContext ctx;
  ctx.dims.d_model = d_model;
  ctx.layer = 0;
  ctx.dtype = dtype;
  ctx.gen = &gen;
  ctx.registry = &registry;
  return registry.create<Mixer>(config, ctx);
}

}  // namespace strata::test
