#pragma once
// The registry of the test_jamba executable: the built-ins and the four plugins a hybrid
// model uses (attention, mamba, moe, jamba), loaded once from the files the build produced.
#include "plugin_registry.h"

namespace strata::test {

inline ComponentRegistry& hybrid_registry() {
  static ComponentRegistry registry;
  static const bool ready = (add_builtins_and_plugins(registry, {STRATA_ATTENTION_PLUGIN, STRATA_MAMBA_PLUGIN,
                                                                  STRATA_MOE_PLUGIN, STRATA_JAMBA_PLUGIN}),
                             true);
  (void)ready;
  return registry;
}

}  // namespace strata::test
