#pragma once
// Located config errors, checked the same way for every plugin: each case is a snippet of
// keys inserted into an experiment text, and the error it must raise (file:line:col, key
// path, a piece of the message and of the hint).
#include <functional>
#include <string>
#include <vector>

#include "catch.h"
#include "plugin_registry.h"

namespace strata::test {

struct BadConfig {
  std::string name;
  std::string keys;
  std::string where;
  std::string key_path;
  std::string message;
  std::string hint;
};

// Builds experiment(c.keys) from "bad.toml" without default plugin folders and checks
// that every case fails with its located ConfigError.
inline void check_config_errors(const std::vector<BadConfig>& cases,
                                const std::function<std::string(const std::string&)>& experiment,
                                ComponentRegistry& registry) {
  const ExperimentOptions options = hermetic_options();
  for (const BadConfig& c : cases) {
    INFO(c.name);
    try {
      const Experiment e = Experiment::from_string(experiment(c.keys), "bad.toml", options, registry);
      build_experiment(e, registry);
      FAIL("no error");
    } catch (const ConfigError& error) {
      INFO(error.what());
      CHECK(error.where().to_string() == c.where);
      CHECK(error.key_path() == c.key_path);
      CHECK(error.message().find(c.message) != std::string::npos);
      CHECK(error.hint().find(c.hint) != std::string::npos);
    }
  }
}

}  // namespace strata::test
