#pragma once
// Shared by the plugin tests: a registry with the built-ins and plugin files the build
// produced, a BuildContext as a model layer gets, one component built from "key=value"
// assignments, and hermetic experiment options.
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "strata/components.h"
#include "strata/experiment.h"
#include "strata/plugin_loader.h"
#include "strata/registry.h"
#include "strata/testing/component_check.h"
#include "strata/trainer.h"

namespace strata::test {

inline void add_builtins_and_plugins(ComponentRegistry& registry, std::initializer_list<const char*> plugin_files) {
  register_builtin_components(registry);
  for (const char* file : plugin_files) load_plugin(registry, file);
}

// The context of layer 0 of a model of width d_model.
inline BuildContext layer_context(const ComponentRegistry& registry, Generator& gen, std::int64_t d_model,
                                  DType dtype) {
  BuildContext ctx;
  ctx.dims.d_model = d_model;
  ctx.layer = 0;
  ctx.dtype = dtype;
  ctx.gen = &gen;
  ctx.registry = &registry;
  return ctx;
}

// A component of `kind` named `type` with the given keys ("d_state=4", "router.type=\"switch\"", ...).
template <class C>
std::shared_ptr<C> make_component(const ComponentRegistry& registry, ComponentKind kind, const std::string& type,
                                  const std::vector<std::string>& keys, const BuildContext& ctx) {
  return registry.create<C>(testing::component_config(registry, kind, type, keys), ctx);
}

// Options for an experiment in a test: the given --set overrides, and no plugin search
// beyond what the test's registry already holds (no default folders, no environment).
inline ExperimentOptions hermetic_options(std::vector<std::string> overrides = {}) {
  ExperimentOptions o;
  o.overrides = std::move(overrides);
  o.default_plugin_folders = false;
  return o;
}

// Builds the experiment `text` (named `name` in messages) hermetically and trains it.
inline TrainSummary train_experiment(const std::string& text, const std::string& name, ComponentRegistry& registry,
                                     const TrainCallbacks& callbacks = {}) {
  const Experiment e = Experiment::from_string(text, name, hermetic_options(), registry);
  const ExperimentObjects objects = build_experiment(e, registry);
  return train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train, callbacks);
}

}  // namespace strata::test
