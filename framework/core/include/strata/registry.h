#pragma once
// The component registry: for each kind, the components known by name, each with its
// config schema, doc, origin (built in or a plugin file) and factory.
//
// Plugins add components through a PluginRegistrar (plugin.h) handed to their entry
// point; built-ins are added by an explicit call (register_builtin_components). Objects a
// factory creates come back as shared_ptrs whose deleter (created here, on the host side)
// holds the plugin's library, so the library outlives every object made from it.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "strata/component_kind.h"
#include "strata/components.h"
#include "strata/config.h"
#include "strata/hf_mapping.h"

namespace strata {

// A factory returns a new component of the kind it was registered for.
using ComponentFactory = std::function<std::unique_ptr<Component>(const Config&, const BuildContext&)>;

template <class C>
constexpr ComponentKind component_kind_of() {
  if constexpr (std::is_base_of_v<Mixer, C>)
    return ComponentKind::mixer;
  else if constexpr (std::is_base_of_v<Ffn, C>)
    return ComponentKind::ffn;
  else if constexpr (std::is_base_of_v<Router, C>)
    return ComponentKind::router;
  else if constexpr (std::is_base_of_v<Balance, C>)
    return ComponentKind::balance;
  else if constexpr (std::is_base_of_v<Stack, C>)
    return ComponentKind::stack;
  else if constexpr (std::is_base_of_v<Optimizer, C>)
    return ComponentKind::optimizer;
  else if constexpr (std::is_base_of_v<Block, C>)
    return ComponentKind::block;
  else {
    static_assert(std::is_base_of_v<Task, C>,
                  "a component is a Mixer, Ffn, Router, Balance, Stack, Task, Optimizer or Block");
    return ComponentKind::task;
  }
}

// What a component declares about itself.
struct ComponentSpec {
  ComponentKind kind = ComponentKind::mixer;
  std::string name;  // the `type = "..."` that selects it
  std::string doc;   // one line
  ConfigSchema schema;
  ComponentCostFn cost;  // mixers and ffns: the analytic cost (optional; empty when not declared)
};

// Where components came from: a loaded plugin library (kept alive by shared_ptrs) or
// the framework itself.
struct PluginInfo {
  std::string name;
  std::string version;
  std::string path;  // absolute file path; "(built in)" for the framework
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
};

class ComponentRegistry {
 public:
  ComponentRegistry();
  ~ComponentRegistry();
  ComponentRegistry(const ComponentRegistry&) = delete;
  ComponentRegistry& operator=(const ComponentRegistry&) = delete;

  // `origin` keeps the component's library loaded (null for built-ins). Throws
  // ValueError for a duplicate name within the kind.
  void add(ComponentSpec spec, ComponentFactory factory, std::shared_ptr<const void> origin = nullptr,
           const PluginInfo* plugin = nullptr);

  const ComponentSpec* find(ComponentKind kind, std::string_view name) const;
  // Names of one kind, sorted.
  std::vector<std::string> names(ComponentKind kind) const;
  // The plugin (or "(built in)") a component came from.
  const PluginInfo& origin_of(ComponentKind kind, std::string_view name) const;

  // Builds the component named config.type() of kind C. Throws ConfigError (located at
  // the config's `type` key) when the name is unknown, listing the known ones.
  template <class C>
  std::shared_ptr<C> create(const Config& config, const BuildContext& ctx) const {
    return std::static_pointer_cast<C>(create_any(component_kind_of<C>(), config, ctx));
  }
  std::shared_ptr<Component> create_any(ComponentKind kind, const Config& config, const BuildContext& ctx) const;

  // The analytic cost of the component `config` selects, or nullopt when it declares none.
  std::optional<ComponentCost> cost(ComponentKind kind, const Config& config, const BuildContext& ctx,
                                    const CostQuery& query) const;

  // Hugging Face mappings (hf_mapping.h). `origin` keeps the plugin's code loaded. Throws
  // ValueError for an architecture registered twice, or a second mapping of one component
  // type for the same architecture.
  void add_hf_architecture(hf::ArchitectureMapping mapping, std::shared_ptr<const void> origin = nullptr,
                           const PluginInfo* plugin = nullptr);
  void add_hf_component(hf::ComponentMapping mapping, std::shared_ptr<const void> origin = nullptr,
                        const PluginInfo* plugin = nullptr);
  const hf::ArchitectureMapping* find_hf_architecture(std::string_view name) const;
  // Every registered architecture, sorted by name.
  std::vector<const hf::ArchitectureMapping*> hf_architectures() const;
  // How `type` takes part in `architecture`: its own mapping for that architecture, else its
  // mapping for every architecture, else null.
  const hf::ComponentMapping* find_hf_component(ComponentKind kind, std::string_view type,
                                                std::string_view architecture) const;
  // Why `mapping` cannot be added ("already registered by ..."), or empty when it can.
  std::string hf_conflict(const hf::ArchitectureMapping& mapping) const;
  std::string hf_conflict(const hf::ComponentMapping& mapping) const;
  // The plugin (or "(built in)") an architecture came from.
  const PluginInfo& hf_origin_of(std::string_view architecture) const;

  // Bookkeeping of loaded plugins (plugin_loader.h); listed by `strata plugins`.
  void add_plugin(PluginInfo info);
  const std::vector<PluginInfo>& plugins() const { return plugins_; }
  const PluginInfo* find_plugin(std::string_view name) const;

 private:
  struct Entry;
  struct HfArchitectureEntry;
  struct HfComponentEntry;
  std::map<std::pair<ComponentKind, std::string>, std::unique_ptr<Entry>, std::less<>> entries_;
  std::map<std::string, std::unique_ptr<HfArchitectureEntry>, std::less<>> hf_architectures_;
  // Keyed by kind, type and architecture ("" for every architecture).
  std::map<std::tuple<ComponentKind, std::string, std::string>, std::unique_ptr<HfComponentEntry>, std::less<>>
      hf_components_;
  std::vector<PluginInfo> plugins_;
};

// Adds the framework's own components: ffn `mlp`, stack `pattern`, tasks `copy` and `text`.
void register_builtin_components(ComponentRegistry& registry);

}  // namespace strata
