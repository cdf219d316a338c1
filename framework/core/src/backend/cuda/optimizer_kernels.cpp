// CUDA kernel of the optimizer step: AdamW over one flat parameter (kernels/cuda/adamw.h),
// the twin of backend/cpu/optimizer_kernels.cpp.
#include "backend/cuda/cuda_backend.h"
#include "kernels/cuda/adamw.h"

namespace strata::cuda_backend {

namespace {

void adamw(const AdamWCall& c) {
  kernels::cuda::AdamWArgs args;
  args.n = c.param->numel();
  args.lr = c.lr;
  args.beta1 = c.beta1;
  args.beta2 = c.beta2;
  args.eps = c.eps;
  args.weight_decay = c.weight_decay;
  args.step = c.step;
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
