// CPU kernel of the optimizer step: AdamW over one flat parameter.
#include "backend/cpu/cpu_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cpu/adamw.h"

namespace strata::cpu_backend {

namespace {

void adamw(const AdamWCall& c) {
  const kernels::cpu::AdamWArgs args = adamw_args(c);
  dispatch_floating(c.param->dtype(), "adamw", [&](auto type) {
    using T = decltype(type);
    kernels::cpu::adamw_step(args, c.param->data<T>(), c.grad->data<T>(), c.m->data<T>(), c.v->data<T>());
  });
}

}  // namespace

void register_optimizer(CoreKernels& k) { add(k.adamw, kFloating, adamw); }

}  // namespace strata::cpu_backend
