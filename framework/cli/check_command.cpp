// strata check: conformance checks of one component (testing/component_check.h).
#include <iostream>

#include "cli/commands.h"
#include "strata/plugin_loader.h"
#include "strata/testing/component_check.h"

namespace strata::cli {

int check_command(const CheckOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  load_plugins(registry, options.common.plugin_search());
  const ComponentKind kind = *parse_component_kind(options.kind);
  const Config config = testing::component_config(registry, kind, options.type, options.common.overrides);
  testing::ComponentCheckOptions check;
  check.d_model = options.d_model;
  check.seq_len = options.seq_len;
  const testing::CheckReport report = testing::check_component(registry, kind, config, check);
  std::cout << "strata check " << options.kind << " " << options.type << " (from "
            << registry.origin_of(kind, options.type).path << ")\n"
            << report.to_string();
  return report.passed() ? kOk : kChecksFailed;
}

}  // namespace strata::cli
