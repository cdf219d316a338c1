#include "strata/runtime.h"

#include "backend/cpu/cpu_backend.h"
#include "strata/device.h"

namespace strata {

void set_num_threads(int threads) { cpu_backend::set_threads(threads); }
int num_threads() { return cpu_backend::threads(); }

std::string build_info() {
  std::string s = "strata " STRATA_VERSION "\n";
  s += "compiler: " __VERSION__ "\n";
  s += "blas: " + cpu_backend::blas_description() + "\n";
  s += "threads: " + std::to_string(num_threads()) + "\n";
  s += std::string("cuda: ") +
       (built_with_cuda() ? "built, " + std::to_string(cuda_device_count()) + " device(s)" : "not built");
  return s;
}

}  // namespace strata
