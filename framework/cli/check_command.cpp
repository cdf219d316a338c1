// strata check: conformance checks of one component (testing/component_check.h).
#include <iostream>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/token_input.h"
#include "strata/plugin_loader.h"
#include "strata/testing/component_check.h"

namespace strata::cli {

int check_command(const CheckOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  load_plugins(registry, options.common.plugin_search());
  ComponentKind kind = ComponentKind::mixer;
  if (!options.kind.empty()) {
    kind = *parse_component_kind(options.kind);
  } else {
    // The kind that has a component of this name; --kind settles a name two kinds share.
    std::vector<ComponentKind> found;
    for (ComponentKind k : {ComponentKind::mixer, ComponentKind::ffn, ComponentKind::block, ComponentKind::optimizer})
      if (registry.find(k, options.type)) found.push_back(k);
    if (found.size() > 1)
      throw UsageError("'" + options.type + "' names a " + std::string(to_string(found[0])) + " and a " +
                           std::string(to_string(found[1])),
                       "say which with --kind");
    if (found.size() == 1) kind = found[0];
  }
  const Config config = testing::component_config(registry, kind, options.type, options.common.overrides);
  testing::ComponentCheckOptions check;
  check.d_model = options.d_model;
  check.seq_len = options.seq_len;
  if (!options.device.empty()) check.devices.push_back(device_option(options.device));
  const testing::CheckReport report = testing::check_component(registry, kind, config, check);
  std::cout << "strata check " << to_string(kind) << " " << options.type << " (from "
            << registry.origin_of(kind, options.type).path << ")\n"
            << report.to_string();
  return report.passed() ? kOk : kChecksFailed;
}

}  // namespace strata::cli
