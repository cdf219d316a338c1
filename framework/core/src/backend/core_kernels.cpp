// The core table entries, built once with every backend of this build registered.
#include "backend/core_kernels.h"

#include "backend/cpu/cpu_backend.h"
#ifdef STRATA_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace strata::core_kernels {

namespace {

CoreKernels* make_table() {
  auto* k = new CoreKernels;
  cpu_backend::register_all(*k);
#ifdef STRATA_WITH_CUDA
  cuda_backend::register_all(*k);
#endif
  return k;
}

}  // namespace

// Never destroyed: tensors released during static destruction may still call kernels.
CoreKernels& table() {
  static CoreKernels* k = make_table();
  return *k;
}

}  // namespace strata::core_kernels
