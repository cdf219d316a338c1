#include "strata/runtime.h"

#include "kernels/cpu/gemm.h"
#include "strata/device.h"

namespace strata {

void set_num_threads(int threads) { kernels::cpu::set_cpu_threads(threads); }
int num_threads() { return kernels::cpu::cpu_threads(); }

std::string build_info() {
  std::string s = "strata " STRATA_VERSION "\n";
  s += "compiler: " __VERSION__ "\n";
  s += "blas: " + kernels::cpu::blas_description() + "\n";
  s += "threads: " + std::to_string(num_threads()) + "\n";
  s += std::string("cuda: ") +
       (built_with_cuda() ? "built, " + std::to_string(cuda_device_count()) + " device(s)" : "not built");
  return s;
}

}  // namespace strata
