// The CPU backend's runtime settings: threads (OpenMP and BLAS together) and the BLAS build.
#include "backend/cpu/cpu_backend.h"
#include "kernels/cpu/gemm.h"

namespace strata::cpu_backend {

void set_threads(int threads) { kernels::cpu::set_cpu_threads(threads); }
int threads() { return kernels::cpu::cpu_threads(); }
std::string blas_description() { return kernels::cpu::blas_description(); }

}  // namespace strata::cpu_backend
