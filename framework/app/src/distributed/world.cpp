#include "strata/distributed.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include <boost/dll/runtime_symbol_info.hpp>

#include "strata/error.h"

namespace strata {

namespace fs = std::filesystem;

namespace {

// Next to libstrata_app: build/lib in a build tree, <prefix>/lib when installed.
fs::path mpi_module_path() {
  if (const char* path = std::getenv("STRATA_MPI_MODULE")) return path;
  std::error_code ec;
  const fs::path library = boost::dll::this_line_location(ec);
  return (ec ? fs::path(".") : library.parent_path()) / "libstrata_mpi.so";
}

}  // namespace

Launch detect_launch() {
  // Open MPI's mpirun, then the PMI-2 and PMIx variables that MPICH's hydra and Slurm's srun set.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return Launch{true, name};
  return {};
}

bool mpi_module_available() {
  std::error_code ec;
  return fs::is_regular_file(mpi_module_path(), ec);
}

std::unique_ptr<Communicator> open_world() {
  const Launch launch = detect_launch();
  if (!launch.by_mpi) return std::make_unique<SingleProcess>();
  const fs::path module = mpi_module_path();
  if (!mpi_module_available())
    throw Error("this process was started by an MPI launcher (" + launch.variable + " is set), but this strata was "
                    "built without MPI: " + module.string() + " does not exist",
                "install Open MPI (apt-get install libopenmpi-dev openmpi-bin) and rebuild (scripts/setup), or run "
                "without mpirun");
  // RTLD_GLOBAL: Open MPI loads its own components, which need libmpi's symbols visible.
  // Never closed: the world lives until the process ends.
  void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr)
    throw Error("cannot load the MPI module " + module.string() + ": " + dlerror(),
                "check that the MPI library it was built against is installed (ldd " + module.string() + ")");
  using OpenFn = Communicator* (*)(char*, std::size_t);
  const auto open = reinterpret_cast<OpenFn>(dlsym(handle, "strata_open_mpi_world"));
  if (open == nullptr)
    throw Error(module.string() + " does not export strata_open_mpi_world", "rebuild strata (scripts/setup)");
  char reason[1024] = {};
  Communicator* world = open(reason, sizeof reason);
  if (world == nullptr) throw Error(std::string("MPI did not start: ") + reason, "check the mpirun command and its output");
  return std::unique_ptr<Communicator>(world);
}

std::uint64_t rank_noise_seed(std::uint64_t seed, int rank) {
  if (rank == 0) return seed;
  // splitmix64 of (seed, rank): neighbouring ranks get unrelated Philox keys.
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * std::uint64_t(rank + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace strata
