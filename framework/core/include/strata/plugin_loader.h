#pragma once
// Finding and loading plugin libraries into a ComponentRegistry.
//
// Loading one file, in order, each failure a PluginError naming the file:
//   1. read its symbol table without loading it (not an ELF shared library, or no
//      strata_plugin_descriptor alias: "not a strata plugin"; no strata_plugin_register:
//      "missing entry point");
//   2. read the descriptor from the file's ".strata_plugin" section, still without
//      loading, and compare magic, ABI major, ABI minor (the plugin's may not be newer
//      than the host's) and build fingerprint with the host's; refuse a plugin name that
//      is already loaded. Nothing of the plugin has run so far;
//   3. dlopen with RTLD_NOW (unresolved symbols fail here) | RTLD_LOCAL (no plugin can
//      interpose on another) | RTLD_NODELETE (never unmapped during the run), and check
//      that the exported descriptor is the one in the section;
//   4. call the entry point, which stages components in a PluginRegistrar;
//   5. commit the staged components, refusing a name the registry already has. Nothing is
//      committed unless every step succeeds.
#include <filesystem>
#include <string>
#include <vector>

#include "strata/error.h"
#include "strata/registry.h"

namespace strata {

// A plugin file that cannot be used; what() names the file and the reason, with a hint.
class PluginError : public Error {
 public:
  using Error::Error;
  ~PluginError() override;
};

// The host's own fingerprint (what a plugin built against these headers embeds).
const char* host_build_fingerprint();

// Loads one plugin file into `registry` (steps above). Returns its info. A file this
// registry already loaded is not loaded again.
PluginInfo load_plugin(ComponentRegistry& registry, const std::filesystem::path& file);

// Plugin files in a folder: regular files named "strata_plugin_*.so", sorted by name.
std::vector<std::filesystem::path> plugin_files_in(const std::filesystem::path& folder);

// Where plugins are searched, in this order (duplicates removed, missing folders
// skipped when they are defaults, an error when named explicitly):
//   1. the default folders: <dir of the running program>/plugins (the build tree) and
//      <dir of libstrata_core>/strata/plugins (an installed SDK);
//   2. each entry of STRATA_PLUGIN_PATH (colon-separated);
//   3. `extra`: paths from the experiment file or the command line (a folder, or one file).
struct PluginSearch {
  bool use_defaults = true;
  bool use_environment = true;
  std::vector<std::filesystem::path> extra;
};
std::vector<std::filesystem::path> default_plugin_folders();

// Loads every plugin found by `search`. A plugin name found twice (two files with the
// same descriptor name) is an error naming both files, unless the two files are
// byte-for-byte identical (one build seen through two folders): that counts once.
// Returns the loaded plugins.
std::vector<PluginInfo> load_plugins(ComponentRegistry& registry, const PluginSearch& search);

}  // namespace strata
