#pragma once
// A component registry with the built-ins and the example plugin (shortconv), loaded from
// the file the build produced (STRATA_EXAMPLE_PLUGIN), for tests that build models.
#include "plugin_registry.h"

namespace strata::test {

inline void add_builtins_and_example(ComponentRegistry& registry) {
  add_builtins_and_plugins(registry, {STRATA_EXAMPLE_PLUGIN});
}

// One shared registry per test executable (loading is idempotent per registry).
inline ComponentRegistry& example_registry() {
  static ComponentRegistry registry;
  static const bool ready = (add_builtins_and_example(registry), true);
  (void)ready;
  return registry;
}

}  // namespace strata::test
