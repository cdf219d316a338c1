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
std::string describe(const PluginInfo& p) {
  return p.path == "(built in)" ? p.name + " (built in)" : p.name + " (" + p.path + ")";
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

struct ComponentRegistry::HfArchitectureEntry {
  std::shared_ptr<const void> origin;  // first declared, last destroyed (see Entry)
  hf::ArchitectureMapping mapping;
  PluginInfo plugin;
};

struct ComponentRegistry::HfComponentEntry {
  std::shared_ptr<const void> origin;
  hf::ComponentMapping mapping;
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

namespace {
// The architectures a component mapping covers; "" stands for every architecture.
std::vector<std::string> covered(const hf::ComponentMapping& m) {
  return m.architectures.empty() ? std::vector<std::string>{""} : m.architectures;
}
}  // namespace

std::string ComponentRegistry::hf_conflict(const hf::ArchitectureMapping& mapping) const {
  auto it = hf_architectures_.find(mapping.name);
  if (it == hf_architectures_.end()) return {};
  return "Hugging Face architecture " + mapping.name + " is already registered by " + describe(it->second->plugin);
}

std::string ComponentRegistry::hf_conflict(const hf::ComponentMapping& mapping) const {
  for (const std::string& arch : covered(mapping)) {
    auto it = hf_components_.find(std::make_tuple(mapping.kind, mapping.type, arch));
    if (it != hf_components_.end())
      return "a Hugging Face mapping of " + std::string(to_string(mapping.kind)) + " '" + mapping.type + "' for " +
             (arch.empty() ? std::string("every architecture") : arch) + " is already registered by " +
             describe(it->second->plugin);
  }
  return {};
}

void ComponentRegistry::add_hf_architecture(hf::ArchitectureMapping mapping, std::shared_ptr<const void> origin,
                                            const PluginInfo* plugin) {
  if (mapping.name.empty()) throw ValueError("a Hugging Face architecture needs a name");
  if (const std::string why = hf_conflict(mapping); !why.empty())
    throw ValueError(why, "load only one plugin that maps it");
  auto entry = std::make_unique<HfArchitectureEntry>();
  entry->origin = std::move(origin);
  entry->plugin = plugin ? *plugin : builtin_info();
  std::string name = mapping.name;
  entry->mapping = std::move(mapping);
  hf_architectures_.emplace(std::move(name), std::move(entry));
}

void ComponentRegistry::add_hf_component(hf::ComponentMapping mapping, std::shared_ptr<const void> origin,
                                         const PluginInfo* plugin) {
  if (const std::string why = hf_conflict(mapping); !why.empty())
    throw ValueError(why, "load only one plugin that maps it");
  // One shared entry per architecture it covers: the mapping is copied, the origin shared.
  for (const std::string& arch : covered(mapping)) {
    auto entry = std::make_unique<HfComponentEntry>();
    entry->origin = origin;
    entry->plugin = plugin ? *plugin : builtin_info();
    entry->mapping = mapping;
    hf_components_.emplace(std::make_tuple(mapping.kind, mapping.type, arch), std::move(entry));
  }
}

const hf::ArchitectureMapping* ComponentRegistry::find_hf_architecture(std::string_view name) const {
  auto it = hf_architectures_.find(name);
  return it == hf_architectures_.end() ? nullptr : &it->second->mapping;
}

std::vector<const hf::ArchitectureMapping*> ComponentRegistry::hf_architectures() const {
  std::vector<const hf::ArchitectureMapping*> out;
  for (const auto& [name, entry] : hf_architectures_) out.push_back(&entry->mapping);
  return out;
}

const hf::ComponentMapping* ComponentRegistry::find_hf_component(ComponentKind kind, std::string_view type,
                                                                  std::string_view architecture) const {
  for (std::string_view arch : {architecture, std::string_view()}) {
    auto it = hf_components_.find(std::make_tuple(kind, std::string(type), std::string(arch)));
    if (it != hf_components_.end()) return &it->second->mapping;
  }
  return nullptr;
}

const PluginInfo& ComponentRegistry::hf_origin_of(std::string_view architecture) const {
  auto it = hf_architectures_.find(architecture);
  if (it == hf_architectures_.end())
    throw ValueError("no Hugging Face architecture named '" + std::string(architecture) + "'");
  return it->second->plugin;
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

namespace strata {

void PluginRegistrar::add_hf_architecture(hf::ArchitectureMapping mapping) {
  if (mapping.name.empty() || mapping.model_type.empty())
    throw ValueError("add_hf_architecture: a Hugging Face architecture needs a name and a model_type");
  if (mapping.mixers.empty()) throw ValueError("add_hf_architecture: " + mapping.name + " composes no mixer type");
  if (mapping.norm_eps_key.empty())
    throw ValueError("add_hf_architecture: " + mapping.name + " names no norm_eps_key (\"rms_norm_eps\", ...)");
  for (const auto& types : {mapping.mixers, mapping.ffns})
    for (const std::string& type : types) {
      bool has_module = false;
      for (const auto& [t, module] : mapping.modules) has_module |= t == type;
      if (!has_module)
        throw ValueError("add_hf_architecture: " + mapping.name + " composes '" + type + "' but names no module for it",
                         "add {\"" + type + "\", \"<module>\"} to modules");
    }
  for (const auto& other : pending_hf_architectures_)
    if (other.name == mapping.name)
      throw ValueError("Hugging Face architecture " + mapping.name + " is registered twice by this plugin");
  pending_hf_architectures_.push_back(std::move(mapping));
}

void PluginRegistrar::add_hf_component(hf::ComponentMapping mapping) {
  if (mapping.kind != ComponentKind::mixer && mapping.kind != ComponentKind::ffn && mapping.kind != ComponentKind::stack)
    throw ValueError("add_hf_component: '" + mapping.type + "' is a " + std::string(to_string(mapping.kind)) +
                     "; Hugging Face mappings exist for mixers, ffns and stacks");
  if (mapping.type.empty() || !mapping.import_config || !mapping.export_config)
    throw ValueError("add_hf_component: a mapping needs a type, import_config and export_config");
  for (const hf::TensorRule& rule : mapping.tensors)
    if (rule.strata.empty() || rule.hf.empty() || (rule.hf_unsqueeze >= 0 && rule.hf.size() != 1))
      throw ValueError("add_hf_component: " + mapping.type + "'s tensor rule '" + rule.strata +
                       "' needs Hugging Face names (one when hf_unsqueeze is set)");
  for (const auto& other : pending_hf_components_)
    if (other.kind == mapping.kind && other.type == mapping.type)
      for (const std::string& a : other.architectures)
        for (const std::string& b : mapping.architectures)
          if (a == b)
            throw ValueError("the Hugging Face mapping of '" + mapping.type + "' for " + a +
                             " is registered twice by this plugin");
  pending_hf_components_.push_back(std::move(mapping));
}

}  // namespace strata
