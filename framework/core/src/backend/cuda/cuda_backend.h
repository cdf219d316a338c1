#pragma once
// The CUDA backend (built with STRATA_CUDA): registers kernels/cuda for the core table
// entries it has. Today that is fill; every other entry raises NotImplementedError on a
// CUDA tensor, naming the backends that do have it.
#include "backend/core_kernels.h"

namespace strata::cuda_backend {

void register_all(core_kernels::CoreKernels& k);

}  // namespace strata::cuda_backend
