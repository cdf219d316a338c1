// strata plugins: every loaded plugin, then every component with its keys.
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "strata/plugin_loader.h"

namespace strata::cli {

int plugins_command(const PluginsOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  load_plugins(registry, options.common.plugin_search());

  std::cout << "plugins:\n";
  if (registry.plugins().empty()) std::cout << "  (none found)\n";
  for (const PluginInfo& p : registry.plugins()) {
    std::cout << "  " << p.name << " " << p.version << "  (ABI " << p.abi_major << "." << p.abi_minor << ")  " << p.path
              << "\n";
  }
  if (!options.common.no_default_plugins) {
    std::cout << "default folders:";
    for (const auto& f : default_plugin_folders()) std::cout << " " << f.lexically_normal().string();
    const char* env = std::getenv("STRATA_PLUGIN_PATH");
    std::cout << "\nSTRATA_PLUGIN_PATH: " << (env ? env : "(unset)") << "\n";
  }
  for (ComponentKind kind : kAllComponentKinds) {
    const auto names = registry.names(kind);
    if (names.empty()) continue;
    std::cout << "\n" << to_string(kind) << "s:\n";
    for (const std::string& name : names) {
      const ComponentSpec& spec = *registry.find(kind, name);
      std::cout << "  " << name << "  -- " << spec.doc << "  [" << registry.origin_of(kind, name).name << "]\n";
      for (const ConfigKey& key : spec.schema.keys()) {
        std::string line = "      " + key.name + " (" + std::string(to_string(key.type));
        if (key.type == ConfigType::component || key.type == ConfigType::component_list ||
            key.type == ConfigType::component_map) {
          line += " of " + std::string(to_string(key.component_kind)) + "s";
        }
        const std::string def = key.default_string();
        line += def.empty() ? ", required" : ", default " + def;
        if (!key.constraint().empty()) line += ", " + key.constraint();
        line += "): " + key.doc;
        std::cout << line << "\n";
      }
    }
  }
  if (const auto architectures = registry.hf_architectures(); !architectures.empty()) {
    std::cout << "\nHugging Face architectures (import-hf, export-hf):\n";
    for (const hf::ArchitectureMapping* a : architectures) {
      std::string parts;
      for (const auto* types : {&a->mixers, &a->ffns})
        for (const std::string& t : *types) parts += (parts.empty() ? "" : " + ") + t;
      if (a->stack != "pattern") parts = "stack " + a->stack + ": " + parts;
      std::cout << "  " << a->name << "  -- " << parts << "  [" << registry.hf_origin_of(a->name).name << "]\n";
    }
  }
  return kOk;
}

}  // namespace strata::cli
