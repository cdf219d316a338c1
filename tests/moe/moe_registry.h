#pragma once
// A registry with the built-ins and the moe and attention plugins, loaded from the files
// the build produced, and helpers that build moe components as a layer would.
#include <string>
#include <vector>

#include "plugin_registry.h"

namespace strata::test {

inline ComponentRegistry& moe_registry() {
  static ComponentRegistry registry;
  static const bool ready =
      (add_builtins_and_plugins(registry, {STRATA_MOE_PLUGIN, STRATA_ATTENTION_PLUGIN}), true);
  (void)ready;
  return registry;
}

// The context an moe ffn gives the routers and balance terms it builds: its expert count
// and top_k under the names the moe plugin passes them (0: not passed).
inline BuildContext moe_context(Generator& gen, std::int64_t d_model, DType dtype, std::int64_t n_experts = 0,
                                std::int64_t top_k = 0) {
  BuildContext ctx = layer_context(moe_registry(), gen, d_model, dtype);
  if (n_experts > 0) ctx.from_parent["n_experts"] = n_experts;
  if (top_k > 0) ctx.from_parent["top_k"] = top_k;
  return ctx;
}

// A component of `kind` named `type` with the given keys ("top_k=1", "router.type=\"switch\"", ...).
template <class C>
std::shared_ptr<C> make_moe_component(ComponentKind kind, const std::string& type, const std::vector<std::string>& keys,
                                      const BuildContext& ctx) {
  return make_component<C>(moe_registry(), kind, type, keys, ctx);
}

// The conformance checks of a moe ffn with the given keys, at d_model 6.
inline testing::CheckReport check_moe(const std::vector<std::string>& keys) {
  const Config config = testing::component_config(moe_registry(), ComponentKind::ffn, "moe", keys);
  testing::ComponentCheckOptions options;
  options.d_model = 6;
  return testing::check_component(moe_registry(), ComponentKind::ffn, config, options);
}

}  // namespace strata::test
