#pragma once
// Process-level settings and build facts.
#include <string>
#include <vector>

namespace strata {

// Threads used by strata's OpenMP kernels and by BLAS together (one thread pool: the
// two never compete for cores). Defaults to OMP_NUM_THREADS or the core count.
void set_num_threads(int threads);
int num_threads();

// The SIMD instruction set of the CPU kernels, by Google Highway's name: "AVX3" (AVX-512),
// "AVX2", "SSE4", "NEON", "SVE", "SVE2", "SVE2_128", "SCALAR". Every kernel is compiled for
// each set of the architecture and the best this CPU supports is used, unless
// set_cpu_simd_target (or the STRATA_SIMD environment variable, for the strata command and
// the benchmarks) chose another.
std::string cpu_simd_target();
// The sets this build has and this CPU can run, best first.
std::vector<std::string> cpu_simd_targets();
// Runs the CPU kernels with `name` (one of cpu_simd_targets(), any case, or "auto") from
// now on; for A/B timing and for testing each path. Call it before kernels run, from one
// thread. Throws ConfigError naming the available sets when `name` is not one of them.
void set_cpu_simd_target(const std::string& name);
// Applies STRATA_SIMD when it is set (ConfigError naming the variable when it is bad).
void apply_cpu_simd_environment();

// One line each: strata version, compiler, BLAS library and threading, CPU SIMD, CUDA.
std::string build_info();

}  // namespace strata
