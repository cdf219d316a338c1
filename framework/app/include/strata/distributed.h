#pragma once
// The process group a command runs in (docs/distributed.md).
//
// `strata run` started by hand is one process: open_world() returns a SingleProcess. Started
// by mpirun (or srun, or any launcher that sets the PMI/PMIx environment), it loads the MPI
// module built next to libstrata_app (libstrata_mpi.so, when the build found MPI) and
// returns the job's world. The module, not libstrata_app, links libmpi: a strata that was
// never launched by mpirun neither loads nor needs an MPI library, and an MPI-less build
// runs everything except multi-rank jobs.
#include <memory>
#include <string>

#include "strata/communicator.h"

namespace strata {

// What the environment says about the launcher.
struct Launch {
  bool by_mpi = false;   // a PMI/PMIx launcher (mpirun, srun) started this process
  std::string variable;  // the variable that says so ("OMPI_COMM_WORLD_SIZE", ...)
};
Launch detect_launch();

// The world of this process: SingleProcess when no launcher started it, else the MPI world.
// Error (naming the module path and what to install) when the launch asks for MPI and the
// module is missing or MPI does not start.
std::unique_ptr<Communicator> open_world();

// Whether the MPI module was built (it may still fail to start).
bool mpi_module_available();

// A seed for rank `rank`'s stream of noise (router noise, dropout): rank 0 keeps `seed`, so
// a one-rank job draws what a single process draws; others get well-separated seeds.
std::uint64_t rank_noise_seed(std::uint64_t seed, int rank);

}  // namespace strata
