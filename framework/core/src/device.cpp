#include "strata/device.h"

#ifdef STRATA_WITH_CUDA
#include "kernels/cuda/memory.h"
#endif

namespace strata {

std::string Device::to_string() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

bool built_with_cuda() {
#ifdef STRATA_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef STRATA_WITH_CUDA
  static const int count = kernels::cuda::device_count();  // the set of GPUs is fixed for a process
  return count;
#else
  return 0;
#endif
}

}  // namespace strata
