#include "strata/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "plugins/elf_section.h"
#include "strata/plugin.h"

namespace strata {

PluginError::~PluginError() = default;

const char* host_build_fingerprint() { return STRATA_BUILD_FINGERPRINT; }

namespace fs = std::filesystem;

namespace {

constexpr const char* kDescriptorSymbol = "strata_plugin_descriptor";
constexpr const char* kRegisterSymbol = "strata_plugin_register";

std::string version_string(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// A string from a fixed-size field of plugin data (not necessarily NUL-terminated).
template <std::size_t N>
std::string field_string(const char (&field)[N]) {
  return std::string(field, strnlen(field, N));
}

// Steps 1 and 2, on the file alone (a bounds-checked reader: a malformed file is an
// error, never a crash): both aliases exported, and the descriptor from its section.
PluginDescriptor inspect_file(const fs::path& file) {
  std::vector<std::string> symbols;
  std::optional<std::vector<char>> section;
  try {
    const detail::ElfFile elf(file);
    symbols = elf.symbols_in("boostdll");
    section = elf.section(kPluginDescriptorSection);
  } catch (const std::exception& e) {
    throw PluginError(
        "not a strata plugin: " + file.string() + " is not a shared library this platform can load (" + e.what() + ")",
        "plugin files are shared libraries built with strata_add_plugin (see docs/writing-a-plugin.md); "
        "remove other files named strata_plugin_*.so from the plugin folders");
  }
  const auto has = [&](const char* name) { return std::find(symbols.begin(), symbols.end(), name) != symbols.end(); };
  if (!has(kDescriptorSymbol)) {
    throw PluginError("not a strata plugin: " + file.string() + " exports no '" + kDescriptorSymbol +
                          "' symbol (Boost.DLL aliases found: " + join_names(symbols) + ")",
                      "a plugin ends with STRATA_PLUGIN(name, version, register_function); see "
                      "docs/writing-a-plugin.md");
  }
  if (!has(kRegisterSymbol)) {
    throw PluginError(
        "missing entry point: " + file.string() + " has a strata descriptor but no '" + kRegisterSymbol + "' symbol",
        "export the registration function with STRATA_PLUGIN (or STRATA_PLUGIN_EXPORT)");
  }
  if (!section) {
    throw PluginError("not a strata plugin: " + file.string() + " has no " + kPluginDescriptorSection +
                          " section (the descriptor STRATA_PLUGIN writes)",
                      "end the plugin with STRATA_PLUGIN(name, version, register_function) from <strata/plugin.h>");
  }
  PluginDescriptor d{};
  constexpr std::size_t kHeader = offsetof(PluginDescriptor, fingerprint);  // magic, ABI, size
  std::memcpy(&d, section->data(), std::min(section->size(), sizeof d));
  if (section->size() < kHeader ||
      (d.magic == kPluginMagic && d.abi_major == kPluginAbiMajor && section->size() != sizeof(PluginDescriptor))) {
    throw PluginError("corrupt descriptor in " + file.string() + ": the " + kPluginDescriptorSection + " section is " +
                          std::to_string(section->size()) + " bytes, expected " +
                          std::to_string(sizeof(PluginDescriptor)),
                      "rebuild the plugin against this strata's SDK");
  }
  return d;
}

// Step 2 (cont.): the descriptor against the host's constants.
void check_descriptor(const fs::path& file, const PluginDescriptor& d) {
  if (d.magic != kPluginMagic) {
    char got[16], want[16];
    std::snprintf(got, sizeof got, "0x%08x", d.magic);
    std::snprintf(want, sizeof want, "0x%08x", kPluginMagic);
    throw PluginError(
        "wrong magic in " + file.string() + ": descriptor magic is " + got + ", strata plugins have " + want,
        "the file's strata_plugin_descriptor is not a strata PluginDescriptor; build the plugin with "
        "STRATA_PLUGIN from <strata/plugin.h>");
  }
  if (d.abi_major != kPluginAbiMajor) {
    throw PluginError("incompatible plugin ABI in " + file.string() + ": plugin ABI " +
                          version_string(d.abi_major, d.abi_minor) + ", host ABI " +
                          version_string(kPluginAbiMajor, kPluginAbiMinor) + " (major versions differ)",
                      "rebuild the plugin against this strata's SDK (cmake --install, then find_package(strata))");
  }
  if (d.abi_minor > kPluginAbiMinor) {
    throw PluginError("plugin needs a newer strata: " + file.string() + " was built for ABI " +
                          version_string(d.abi_major, d.abi_minor) + ", this host provides " +
                          version_string(kPluginAbiMajor, kPluginAbiMinor),
                      "update strata, or rebuild the plugin against this strata's SDK");
  }
  if (d.descriptor_size != sizeof(PluginDescriptor)) {
    throw PluginError("corrupt descriptor in " + file.string() + ": " + std::to_string(d.descriptor_size) +
                          " bytes, this host's has " + std::to_string(sizeof(PluginDescriptor)),
                      "rebuild the plugin against this strata's SDK");
  }
  const std::string fingerprint = field_string(d.fingerprint);
  if (fingerprint != host_build_fingerprint()) {
    throw PluginError("build fingerprint mismatch in " + file.string() + ":\n  plugin: " + fingerprint +
                          "\n  host:   " + host_build_fingerprint(),
                      "the plugin was built with other strata headers or another compiler/standard library; rebuild "
                      "it against this strata (same compiler, same SDK)");
  }
}

// Whether two files hold the same bytes: the same plugin build reached through two
// folders (a copied build tree whose program and library point at different plugin
// folders), which counts once.
bool same_contents(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::file_size(a, ec) != fs::file_size(b, ec) || ec) return false;
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return false;
  return std::equal(std::istreambuf_iterator<char>(fa), std::istreambuf_iterator<char>(),
                    std::istreambuf_iterator<char>(fb), std::istreambuf_iterator<char>());
}

}  // namespace

PluginInfo load_plugin(ComponentRegistry& registry, const fs::path& file_in) {
  std::error_code ec;
  if (!fs::is_regular_file(file_in, ec)) {
    throw PluginError("plugin file not found: " + file_in.string(), "check the path and that the plugin was built");
  }
  const fs::path file = fs::canonical(file_in, ec);
  // Loading a file twice into one registry is a no-op (an experiment may name a plugin
  // the defaults already loaded).
  for (const PluginInfo& p : registry.plugins())
    if (p.path == file.string()) return p;

  // Steps 1-2, on the file alone: nothing of the plugin runs until they pass.
  const PluginDescriptor descriptor = inspect_file(file);
  check_descriptor(file, descriptor);
  PluginInfo info{field_string(descriptor.name), field_string(descriptor.version), file.string(), descriptor.abi_major,
                  descriptor.abi_minor};
  if (const PluginInfo* other = registry.find_plugin(info.name)) {
    if (same_contents(other->path, file)) return *other;
    throw PluginError("plugin '" + info.name + "' is found twice: " + other->path + " and " + file.string(),
                      "remove one copy from the plugin search path, or give the copy another name in STRATA_PLUGIN");
  }

  // Step 3: load. RTLD_NODELETE: a library stays mapped until exit even once unreferenced
  // (objects made from it may still run its code: autograd closures, exceptions).
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    library->load(file, static_cast<boost::dll::load_mode::type>(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE));
  } catch (const std::exception& e) {
    const char* detail = dlerror();
    throw PluginError("cannot load plugin " + file.string() + ": " + (detail ? detail : e.what()),
                      "an undefined symbol usually means the plugin was built against another libstrata_core; rebuild it");
  }
  const auto& exported = library->get_alias<const PluginDescriptor>(kDescriptorSymbol);
  if (std::memcmp(&exported, &descriptor, sizeof descriptor) != 0) {
    throw PluginError("inconsistent plugin " + file.string() +
                          ": the exported strata_plugin_descriptor differs from "
                          "the .strata_plugin section",
                      "export the descriptor with STRATA_PLUGIN (it places and exports the same object)");
  }

  // Step 4: registration, staged.
  PluginRegistrar registrar;
  char message[2048] = {0};
  auto& entry = library->get_alias<PluginRegisterFn>(kRegisterSymbol);
  if (entry(&registrar, message, sizeof message) != 0) {
    throw PluginError("registration failed in plugin '" + info.name + "' (" + file.string() +
                          "): " + (message[0] ? std::string(message) : std::string("no message")),
                      "the plugin's registration function threw; fix the plugin (nothing from it was registered)");
  }

  // Step 5: commit, all or nothing.
  for (const PluginRegistrar::Pending& p : registrar.pending()) {
    if (registry.find(p.spec.kind, p.spec.name) != nullptr) {
      const PluginInfo& owner = registry.origin_of(p.spec.kind, p.spec.name);
      throw PluginError("duplicate component name: plugin '" + info.name + "' (" + file.string() + ") registers " +
                            std::string(to_string(p.spec.kind)) + " '" + p.spec.name + "', already registered by " +
                            owner.name + " (" + owner.path + ")",
                        "rename the component in one of the plugins (names are global per kind); nothing from '" +
                            info.name + "' was registered");
    }
  }
  const auto refuse_conflict = [&](const std::string& why) {
    if (!why.empty())
      throw PluginError("plugin '" + info.name + "' (" + file.string() + "): " + why,
                        "load only one plugin that maps it; nothing from '" + info.name + "' was registered");
  };
  for (const auto& m : registrar.pending_hf_architectures()) refuse_conflict(registry.hf_conflict(m));
  for (const auto& m : registrar.pending_hf_components()) refuse_conflict(registry.hf_conflict(m));
  std::shared_ptr<const void> origin = library;
  for (PluginRegistrar::Pending& p : registrar.pending()) {
    registry.add(std::move(p.spec), std::move(p.factory), origin, &info);
  }
  for (auto& m : registrar.pending_hf_architectures()) registry.add_hf_architecture(std::move(m), origin, &info);
  for (auto& m : registrar.pending_hf_components()) registry.add_hf_component(std::move(m), origin, &info);
  for (const auto& commit_kernel : registrar.pending_kernels()) commit_kernel();
  registry.add_plugin(info);
  return info;
}

std::vector<fs::path> plugin_files_in(const fs::path& folder) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(folder, ec)) {
    const std::string name = item.path().filename().string();
    if (item.is_regular_file(ec) && name.rfind("strata_plugin_", 0) == 0 && item.path().extension() == ".so") {
      out.push_back(item.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> default_plugin_folders() {
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path program = boost::dll::program_location(ec);
  if (!ec) candidates.push_back(program.parent_path() / ".." / "lib" / "strata" / "plugins");
  const fs::path library = boost::dll::this_line_location(ec);
  if (!ec) candidates.push_back(library.parent_path() / "strata" / "plugins");
  std::vector<fs::path> out;
  for (const fs::path& c : candidates) {
    const fs::path normal = fs::weakly_canonical(c, ec);
    const fs::path& p = ec ? c : normal;
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

std::vector<PluginInfo> load_plugins(ComponentRegistry& registry, const PluginSearch& search) {
  struct Place {
    fs::path path;
    const char* source;  // nullptr: a default folder (skipped when missing)
  };
  std::vector<Place> places;
  if (search.use_defaults) {
    for (const fs::path& p : default_plugin_folders()) places.push_back({p, nullptr});
  }
  if (search.use_environment) {
    if (const char* env = std::getenv("STRATA_PLUGIN_PATH")) {
      std::string all(env);
      std::size_t start = 0;
      while (start <= all.size()) {
        const std::size_t colon = all.find(':', start);
        const std::string part = all.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
        if (!part.empty()) places.push_back({part, "STRATA_PLUGIN_PATH"});
        if (colon == std::string::npos) break;
        start = colon + 1;
      }
    }
  }
  for (const fs::path& p : search.extra) places.push_back({p, "[plugins] paths or --plugin-path"});

  std::vector<PluginInfo> loaded;
  std::set<fs::path> seen_files;
  std::error_code ec;
  for (const auto& [place, source] : places) {
    std::vector<fs::path> files;
    if (fs::is_directory(place, ec)) {
      files = plugin_files_in(place);
    } else if (fs::is_regular_file(place, ec)) {
      files.push_back(place);
    } else if (source != nullptr) {
      throw PluginError("plugin path not found: " + place.string() + " (from " + source + ")",
                        "paths in STRATA_PLUGIN_PATH, [plugins] paths and --plugin-path must be existing folders or "
                        "plugin files");
    } else {
      continue;
    }
    for (const fs::path& f : files) {
      const fs::path canonical = fs::canonical(f, ec);
      if (!seen_files.insert(ec ? f : canonical).second) continue;
      loaded.push_back(load_plugin(registry, f));
    }
  }
  return loaded;
}

}  // namespace strata
