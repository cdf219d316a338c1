#pragma once
// A registry with the built-ins and the attention plugin, loaded from the file the build
// produced (STRATA_ATTENTION_PLUGIN), and a helper that builds one attention mixer.
#include <string>
#include <vector>

#include "strata/components.h"
#include "strata/plugin_loader.h"
#include "strata/registry.h"
#include "strata/testing/component_check.h"

namespace strata::test {

inline ComponentRegistry& attention_registry() {
  static ComponentRegistry registry;
  static const bool ready = (register_builtin_components(registry), load_plugin(registry, STRATA_ATTENTION_PLUGIN), true);
  (void)ready;
  return registry;
}

// An attention mixer with the given keys ("n_heads=4", ...), built like a layer would be.
inline std::shared_ptr<Mixer> make_attention(const std::vector<std::string>& keys, std::int64_t d_model,
                                             DType dtype = DType::f64, std::uint64_t seed = 1) {
  const ComponentRegistry& registry = attention_registry();
  const Config config = testing::component_config(registry, ComponentKind::mixer, "attention", keys);
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
