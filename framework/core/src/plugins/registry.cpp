#include "strata/registry.h"

#include <algorithm>
#include <cctype>

#include "strata/error.h"
#include "strata/plugin.h"

namespace strata {

namespace {
const PluginInfo& builtin_info() {
  static const PluginInfo info{"strata", STRATA_VERSION, "(built in)", kPluginAbiMajor, kPluginAbiMinor};
  return info;
}
}  // namespace

struct ComponentRegistry::Entry {
  // Declared first, destroyed last: the factory (whose code may live in the plugin) goes
  // before the library handle that keeps that code mapped.
  std::shared_ptr<const void> origin;
  ComponentSpec spec;
  ComponentFactory factory;
  PluginInfo plugin;
};

ComponentRegistry::ComponentRegistry() = default;
ComponentRegistry::~ComponentRegistry() = default;

void ComponentRegistry::add(ComponentSpec spec, ComponentFactory factory, std::shared_ptr<const void> origin,
                            const PluginInfo* plugin) {
  const std::string kind(to_string(spec.kind));
  if (spec.name.empty()) throw ValueError("a " + kind + " needs a name");
  if (!factory) throw ValueError(kind + " '" + spec.name + "' has no factory");
  auto key = std::make_pair(spec.kind, spec.name);
  if (auto it = entries_.find(key); it != entries_.end()) {
    const PluginInfo& existing = it->second->plugin;
    const auto describe = [](const PluginInfo& p) {
      return p.path == "(built in)" ? p.name + " (built in)" : p.name + " (" + p.path + ")";
    };
    throw ValueError(kind + " '" + spec.name + "' is already registered by " + describe(existing) +
                         (plugin ? "; " + describe(*plugin) + " registers it again" : ""),
                     "component names are global per kind: rename one of them, or load only one of the two plugins");
  }
  auto entry = std::make_unique<Entry>();
  entry->origin = std::move(origin);
  entry->spec = std::move(spec);
  entry->factory = std::move(factory);
  entry->plugin = plugin ? *plugin : builtin_info();
  entries_.emplace(std::move(key), std::move(entry));
}

const ComponentSpec* ComponentRegistry::find(ComponentKind kind, std::string_view name) const {
  auto it = entries_.find(std::make_pair(kind, std::string(name)));
  return it == entries_.end() ? nullptr : &it->second->spec;
}

std::vector<std::string> ComponentRegistry::names(ComponentKind kind) const {
  std::vector<std::string> out;
  for (const auto& [key, entry] : entries_)
    if (key.first == kind) out.push_back(key.second);
  std::sort(out.begin(), out.end());
  return out;
}

const PluginInfo& ComponentRegistry::origin_of(ComponentKind kind, std::string_view name) const {
  auto it = entries_.find(std::make_pair(kind, std::string(name)));
  if (it == entries_.end())
    throw ValueError("no " + std::string(to_string(kind)) + " named '" + std::string(name) + "'");
  return it->second->plugin;
}

std::shared_ptr<Component> ComponentRegistry::create_any(ComponentKind kind, const Config& config,
                                                         const BuildContext& ctx) const {
  const std::string kind_name(to_string(kind));
  auto it = entries_.find(std::make_pair(kind, config.type()));
  if (it == entries_.end()) {
    throw ConfigError(config.where("type"), config.path().empty() ? "type" : config.path() + ".type",
                      "unknown " + kind_name + " \"" + config.type() + "\" (known " + kind_name +
                          "s: " + join_names(names(kind)) + ")");
  }
  if (ctx.gen == nullptr) throw ValueError("BuildContext.gen must be set to build a " + kind_name);
  const Entry& entry = *it->second;
  std::unique_ptr<Component> raw = entry.factory(config, ctx);
  if (!raw) {
    throw Error(kind_name + " '" + config.type() + "' from " + entry.plugin.path + " returned no object",
                "a factory must return a new component or throw");
  }
  // The deleter is created here, in libstrata_core: it runs the (plugin-defined) virtual
  // destructor, then drops its reference to the plugin's library.
  std::shared_ptr<const void> origin = entry.origin;
  return std::shared_ptr<Component>(raw.release(), [origin](Component* c) { delete c; });
}

std::optional<ComponentCost> ComponentRegistry::cost(ComponentKind kind, const Config& config, const BuildContext& ctx,
                                                     const CostQuery& query) const {
  auto it = entries_.find(std::make_pair(kind, config.type()));
  if (it == entries_.end() || !it->second->spec.cost) return std::nullopt;
  return it->second->spec.cost(config, ctx, query);
}

void ComponentRegistry::add_plugin(PluginInfo info) { plugins_.push_back(std::move(info)); }

const PluginInfo* ComponentRegistry::find_plugin(std::string_view name) const {
  for (const PluginInfo& p : plugins_)
    if (p.name == name) return &p;
  return nullptr;
}

void PluginRegistrar::add_spec(ComponentSpec spec, ComponentFactory factory) {
  const bool valid_name = !spec.name.empty() && std::all_of(spec.name.begin(), spec.name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  if (!valid_name) {
    throw ValueError("component name '" + spec.name + "' is not a valid name (use letters, digits, _ - .)");
  }
  if (!factory) throw ValueError(std::string(to_string(spec.kind)) + " '" + spec.name + "' has no factory");
  for (const Pending& p : pending_) {
    if (p.spec.kind == spec.kind && p.spec.name == spec.name) {
      throw ValueError(std::string(to_string(spec.kind)) + " '" + spec.name + "' is registered twice by this plugin");
    }
  }
  pending_.push_back({std::move(spec), std::move(factory)});
}

}  // namespace strata
