#pragma once
// What the fuzz targets share: a scratch folder (in /dev/shm when there is one, so that
// writing an input as a file costs little), the registry every target uses (the built-ins
// and the plugins of this build), and the rule that strata's own errors are the expected
// outcome of bad input: any other exception, a crash or a sanitizer report is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "strata/error.h"
#include "strata/experiment.h"
#include "strata/registry.h"

namespace strata::fuzz {

inline std::filesystem::path scratch_folder() {
  // Never destroyed: the exit handler below still needs it.
  static const std::filesystem::path* folder = [] {
    std::error_code ec;
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    auto* f = new std::filesystem::path(base / ("strata_fuzz_" + std::to_string(::getpid())));
    std::filesystem::create_directories(*f);
    std::atexit([] {  // libFuzzer exits through exit(); a crash leaves the folder to inspect
      std::error_code ignored;
      std::filesystem::remove_all(scratch_folder(), ignored);
    });
    return f;
  }();
  return *folder;
}

inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
  const std::filesystem::path file = scratch_folder() / name;
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
  return file;
}

// Experiments see only this build's plugins (STRATA_FUZZ_PLUGIN_DIR), never the user's.
inline ExperimentOptions hermetic_options() {
  ExperimentOptions o;
  o.default_plugin_folders = false;
  o.plugin_paths = {STRATA_FUZZ_PLUGIN_DIR};
  return o;
}

inline ComponentRegistry& registry() {
  static ComponentRegistry* r = [] {
    auto* created = new ComponentRegistry;
    register_builtin_components(*created);
    load_experiment_plugins(hermetic_options(), *created);
    return created;
  }();
  return *r;
}

// Runs `body`; strata::Error is the expected answer to bad input and is swallowed.
template <class Body>
void expect_strata_errors_only(Body&& body) {
  try {
    body();
  } catch (const Error&) {
  }
}

}  // namespace strata::fuzz
