#pragma once
// A component registry with the built-ins and the example plugin (shortconv), loaded from
// the file the build produced (STRATA_EXAMPLE_PLUGIN), and hermetic experiment options,
// for tests that build models.
#include <string>
#include <vector>

#include "strata/experiment.h"
#include "strata/plugin_loader.h"
#include "strata/registry.h"

namespace strata::test {

inline void add_builtins_and_example(ComponentRegistry& registry) {
  register_builtin_components(registry);
  load_plugin(registry, STRATA_EXAMPLE_PLUGIN);
}

// One shared registry per test executable (loading is idempotent per registry).
inline ComponentRegistry& example_registry() {
  static ComponentRegistry registry;
  static const bool ready = (add_builtins_and_example(registry), true);
  (void)ready;
  return registry;
}

// Options for an experiment in a test: the given --set overrides, and no plugin search
// beyond what the test's registry already holds (no default folders, no environment).
inline ExperimentOptions hermetic_options(std::vector<std::string> overrides = {}) {
  ExperimentOptions o;
  o.overrides = std::move(overrides);
  o.default_plugin_folders = false;
  return o;
}

}  // namespace strata::test
