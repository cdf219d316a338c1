#pragma once
// Writing a plugin: a shared library, built with hidden visibility (strata_add_plugin in
// CMake does that), that ends with
//
//   static void register_components(strata::PluginRegistrar& r) {
//     r.add<MyMixer>("my_mixer", "one-line doc", my_schema(), &make_my_mixer);
//   }
//   STRATA_PLUGIN("my_plugin", "0.1.0", register_components)
//
// STRATA_PLUGIN exports two Boost.DLL aliases: a descriptor (plain data: magic, ABI
// version, build fingerprint, name, version), which the host reads from the file and
// checks before it loads the library, so a mismatched plugin never runs any code, and
// the registration entry point, which catches every exception and reports failure
// through a status code and a message buffer. See docs/writing-a-plugin.md.
#include <boost/dll/alias.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "strata/backend.h"
#include "strata/build_fingerprint.h"
#include "strata/error.h"
#include "strata/hf_mapping.h"
#include "strata/registry.h"
#include "strata/testing/conformance.h"

namespace strata {

inline constexpr std::uint32_t kPluginMagic = 0x53545241u;  // "STRA"
// Major: a change that breaks plugins (interfaces, descriptor layout). Minor: additions.
inline constexpr std::uint32_t kPluginAbiMajor = 3;  // 3: Hugging Face mappings in the registrar
inline constexpr std::uint32_t kPluginAbiMinor = 0;

// The descriptor. Plain data without pointers, so the host can read it from the file
// before loading it: STRATA_PLUGIN places it in the ELF section ".strata_plugin" (read
// without running anything) and also exports its address as the Boost.DLL alias
// strata_plugin_descriptor. Fixed layout: bump the ABI major for any change.
struct PluginDescriptor {
  std::uint32_t magic;  // kPluginMagic
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  std::uint32_t descriptor_size;  // sizeof(PluginDescriptor) in the plugin's build
  char fingerprint[256];          // STRATA_BUILD_FINGERPRINT of the headers it was built with
  char name[64];
  char version[32];
};
inline constexpr const char* kPluginDescriptorSection = ".strata_plugin";

// Collects a plugin's components. The host commits them only after the entry point
// reports success, so a failing plugin adds nothing.
class PluginRegistrar {
 public:
  // `cost` (mixers and ffns, optional): the component's analytic cost from its config,
  // for planning models without allocating them (components.h, ComponentCost).
  template <class C, class Factory>
  void add(std::string name, std::string doc, ConfigSchema schema, Factory factory, ComponentCostFn cost = {}) {
    ComponentSpec spec{component_kind_of<C>(), std::move(name), std::move(doc), std::move(schema), std::move(cost)};
    add_spec(std::move(spec), ComponentFactory([factory](const Config& config, const BuildContext& ctx) {
               // Converting through unique_ptr<C> makes a factory of another kind a compile error.
               std::unique_ptr<C> typed(factory(config, ctx));
               return std::unique_ptr<Component>(std::move(typed));
             }));
  }

  // A kernel for one of the plugin's own ops (strata/backend.h): a static KernelOp of the
  // plugin, named "<plugin>.<op>", gets `kernel` when the plugin is committed. Loading the
  // same library again adds nothing twice.
  template <backend::KernelCall Call>
  void add_kernel(backend::KernelOp<Call>& op, backend::Kernel<Call> kernel) {
    if (const backend::OpEntry* other = backend::find_op(op.name()); other != nullptr && other != &op)
      throw ValueError("add_kernel: an op named '" + op.name() + "' already exists in the backend table",
                       "name a plugin's ops \"<plugin>.<op>\"");
    pending_kernels_.push_back([&op, kernel = std::move(kernel)]() {
      for (const backend::KernelInfo& k : op.kernels())
        if (k.backend == kernel.backend && k.device == kernel.device) return;
      op.add(kernel);
    });
  }

  // A conformance case for the plugin's kernels (strata/testing/conformance.h), run by
  // `strata backends --check` with the core's: its `ops` name the plugin's table entries.
  void add_conformance_case(testing::ConformanceCase c) {
    pending_kernels_.push_back([c = std::move(c)]() { testing::add_conformance_case(c); });
  }

  // Hugging Face mappings (strata/hf_mapping.h): an architecture the plugin provides, and
  // how one of its components takes part in architectures.
  void add_hf_architecture(hf::ArchitectureMapping mapping);
  void add_hf_component(hf::ComponentMapping mapping);

  struct Pending {
    ComponentSpec spec;
    ComponentFactory factory;
  };
  std::vector<Pending>& pending() { return pending_; }
  std::vector<std::function<void()>>& pending_kernels() { return pending_kernels_; }
  std::vector<hf::ArchitectureMapping>& pending_hf_architectures() { return pending_hf_architectures_; }
  std::vector<hf::ComponentMapping>& pending_hf_components() { return pending_hf_components_; }

 private:
  void add_spec(ComponentSpec spec, ComponentFactory factory);
  std::vector<Pending> pending_;
  std::vector<std::function<void()>> pending_kernels_;
  std::vector<hf::ArchitectureMapping> pending_hf_architectures_;
  std::vector<hf::ComponentMapping> pending_hf_components_;
};

// Signature of the exported entry point: 0 on success; otherwise a message in `error`.
using PluginRegisterFn = int(PluginRegistrar* registrar, char* error, std::size_t error_size);

namespace detail {
inline void copy_message(const char* message, char* error, std::size_t error_size) {
  if (error == nullptr || error_size == 0) return;
  std::strncpy(error, message, error_size - 1);
  error[error_size - 1] = '\0';
}
// Runs a plugin's registration function; no exception leaves the plugin.
template <class Fn>
int run_registration(Fn&& fn, PluginRegistrar* registrar, char* error, std::size_t error_size) noexcept {
  try {
    fn(*registrar);
    return 0;
  } catch (const std::exception& e) {
    copy_message(e.what(), error, error_size);
  } catch (...) {
    copy_message("unknown exception (not derived from std::exception)", error, error_size);
  }
  return 1;
}
}  // namespace detail

}  // namespace strata

// AddressSanitizer pads globals with red zones; the section must hold the descriptor alone.
#if defined(__clang__)
#define STRATA_DETAIL_NO_ASAN_GLOBAL __attribute__((no_sanitize("address")))
#else
#define STRATA_DETAIL_NO_ASAN_GLOBAL __attribute__((no_sanitize_address))
#endif

// Defines `variable`, a PluginDescriptor in the ".strata_plugin" section. The loader
// tests use it to build deliberately broken descriptors; plugins use STRATA_PLUGIN.
#define STRATA_PLUGIN_DESCRIPTOR(variable, magic, abi_major, abi_minor, fingerprint, plugin_name, plugin_version) \
  __attribute__((section(".strata_plugin"), used)) STRATA_DETAIL_NO_ASAN_GLOBAL                                  \
  const ::strata::PluginDescriptor variable {                                                                    \
    magic, abi_major, abi_minor, sizeof(::strata::PluginDescriptor), fingerprint, plugin_name, plugin_version     \
  }

// Exports a descriptor object and an entry function through the two Boost.DLL aliases.
#define STRATA_PLUGIN_EXPORT(descriptor_object, register_function) \
  BOOST_DLL_ALIAS(descriptor_object, strata_plugin_descriptor)     \
  BOOST_DLL_ALIAS(register_function, strata_plugin_register)

// The end of every plugin: name and version (string literals, at most 63 and 31
// characters) and the registration function, void(strata::PluginRegistrar&).
#define STRATA_PLUGIN(plugin_name, plugin_version, registration_function)                                            \
  namespace strata_plugin_export {                                                                                   \
  STRATA_PLUGIN_DESCRIPTOR(descriptor, ::strata::kPluginMagic, ::strata::kPluginAbiMajor, ::strata::kPluginAbiMinor, \
                           STRATA_BUILD_FINGERPRINT, plugin_name, plugin_version);                                   \
  int register_entry(::strata::PluginRegistrar* registrar, char* error, std::size_t error_size) noexcept {           \
    return ::strata::detail::run_registration(registration_function, registrar, error, error_size);                  \
  }                                                                                                                  \
  }                                                                                                                  \
  STRATA_PLUGIN_EXPORT(strata_plugin_export::descriptor, strata_plugin_export::register_entry)
