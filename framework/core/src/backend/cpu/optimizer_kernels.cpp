// CPU kernel of the optimizer step: AdamW over one flat parameter.
#include "backend/cpu/cpu_backend.h"
#include "kernels/cpu/adamw.h"

namespace strata::cpu_backend {

namespace {

void adamw(const AdamWCall& c) {
  kernels::cpu::AdamWArgs args;
  args.n = c.param->numel();
  args.lr = c.lr;
  args.beta1 = c.beta1;
  args.beta2 = c.beta2;
  args.eps = c.eps;
  args.weight_decay = c.weight_decay;
  args.step = c.step;
  dispatch_floating(c.param->dtype(), "adamw", [&](auto type) {
    using T = decltype(type);
    kernels::cpu::adamw_step(args, c.param->data<T>(), c.grad->data<T>(), c.m->data<T>(), c.v->data<T>());
  });
}

}  // namespace

void register_optimizer(CoreKernels& k) { add(k.adamw, kFloating, adamw); }

}  // namespace strata::cpu_backend
