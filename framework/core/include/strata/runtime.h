#pragma once
// Process-level settings and build facts.
#include <string>

namespace strata {

// Threads used by strata's OpenMP kernels and by BLAS together (one thread pool: the
// two never compete for cores). Defaults to OMP_NUM_THREADS or the core count.
void set_num_threads(int threads);
int num_threads();

// One line each: strata version, compiler, BLAS library and threading, CUDA.
std::string build_info();

}  // namespace strata
