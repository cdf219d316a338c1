#include "strata/runtime.h"

#include "backend/cpu/cpu_backend.h"
#include "strata/device.h"
#ifdef STRATA_WITH_CUDA
#include "kernels/cuda/attention_cudnn.h"
#endif

namespace strata {

void set_num_threads(int threads) { cpu_backend::set_threads(threads); }
int num_threads() { return cpu_backend::threads(); }

std::string cpu_simd_target() { return cpu_backend::simd_target(); }
std::vector<std::string> cpu_simd_targets() { return cpu_backend::simd_targets(); }
void set_cpu_simd_target(const std::string& name) { cpu_backend::select_simd_target(name); }
void apply_cpu_simd_environment() { cpu_backend::select_simd_target_from_environment(); }

std::string build_info() {
  std::string s = "strata " STRATA_VERSION "\n";
  s += "compiler: " __VERSION__ "\n";
  s += "blas: " + cpu_backend::blas_description() + "\n";
  s += "threads: " + std::to_string(num_threads()) + "\n";
  s += "cpu simd: " + cpu_simd_target() + " (runtime dispatch; this CPU runs:";
  for (const std::string& t : cpu_simd_targets()) s += " " + t;
  s += ")\n";
  s += std::string("cuda: ") +
       (built_with_cuda() ? "built, " + std::to_string(cuda_device_count()) + " device(s)" : "not built");
#ifdef STRATA_WITH_CUDA
  s += ", bf16 attention: " + kernels::cuda::cudnn_description();
#endif
  return s;
}

}  // namespace strata
