// CUDA kernel of the optimizer step: AdamW over one flat parameter (kernels/cuda/adamw.h),
// the twin of backend/cpu/optimizer_kernels.cpp.
#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/adamw.h"

namespace strata::cuda_backend {

namespace {

void adamw(const AdamWCall& c) {
  const kernels::cuda::AdamWArgs args = adamw_args(c);
  dispatch_floating(c.param->dtype(), "adamw", [&](auto type) {
    using T = decltype(type);
    check(kernels::cuda::adamw_cuda<T>(args, c.param->data<T>(), c.grad->data<T>(), c.m->data<T>(), c.v->data<T>(),
                                       c.param->device().index),
          "adamw", *c.param);
  });
}

}  // namespace

void register_optimizer(CoreKernels& k) { add(k.adamw, kFloating, adamw); }

}  // namespace strata::cuda_backend
