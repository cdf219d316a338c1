// rmsnorm and layernorm over the last axis.
#include "strata/ops/norm.h"

#include <vector>

#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rmsnorm.h"
#include "strata/autograd.h"
#include "tensor_internal.h"

namespace strata {

namespace cpu = kernels::cpu;
using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

void check_norm_args(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  detail::check_floating(op, "x", x);
  if (x.rank() < 1) throw ShapeError(std::string(op) + ": needs rank >= 1, got a scalar");
  for (const auto& [name, p] : {std::pair{"weight", &weight}, std::pair{"bias", &bias}}) {
    if (!p->defined()) continue;
    if (p->rank() != 1 || p->size(0) != x.size(-1))
      throw ShapeError(std::string(op) + ": " + name + " " + p->shape().to_string() + " does not match x " +
                       x.shape().to_string() + " (expected [" + std::to_string(x.size(-1)) + "])");
  }
  detail::common_dtype(op, {&x, &weight, &bias});
  detail::require_cpu_kernel(op, detail::common_device(op, {&x, &weight, &bias}));
  if (!(eps > 0)) throw ValueError(std::string(op) + ": eps = " + std::to_string(eps) + " must be > 0");
}

}  // namespace

Tensor rmsnorm(const Tensor& x, const Tensor& weight, double eps) {
  check_norm_args("rmsnorm", x, weight, Tensor(), eps);
  const Tensor xc = x.contiguous(), wc = weight.defined() ? weight.contiguous() : Tensor();
  const std::int64_t D = x.size(-1), rows = D ? x.numel() / D : 0;
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor rstd = Tensor::empty({rows}, x.dtype());
  dispatch_floating(x.dtype(), "rmsnorm", [&](auto type) {
    using T = decltype(type);
    cpu::RmsNormArgs<T> args;
    args.rows = rows;
    args.cols = D;
    args.eps = T(eps);
    args.x = xc.data<T>();
    args.weight = wc.defined() ? wc.data<T>() : nullptr;
    args.y = y.data<T>();
    args.rstd = rstd.data<T>();
    cpu::rmsnorm_fwd_cpu(args);
  });
  autograd::record(
      "rmsnorm", {xc, wc}, {y},
      [xs = SavedTensor(xc), ws = SavedTensor(wc), rs = SavedTensor(rstd), rows, D, eps](const BackwardArgs& a) {
        const Tensor g = a.grad().contiguous();
        Tensor dx = Tensor::empty(g.shape(), g.dtype());
        Tensor dw = a.needs(1) ? Tensor::empty({D}, g.dtype()) : Tensor();
        dispatch_floating(g.dtype(), "rmsnorm backward", [&](auto type) {
          using T = decltype(type);
          Tensor r = rs.get();
          cpu::RmsNormArgs<T> args;
          args.rows = rows;
          args.cols = D;
          args.eps = T(eps);
          args.x = xs.get().data<T>();
          args.weight = ws.defined() ? ws.get().data<T>() : nullptr;
          args.rstd = r.data<T>();
          args.g = g.data<T>();
          args.dx = dx.data<T>();
          args.dweight = dw.defined() ? dw.data<T>() : nullptr;
          cpu::rmsnorm_bwd_cpu(args);
        });
        return std::vector<Tensor>{dx, dw};
      });
  return y;
}

Tensor layernorm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_norm_args("layernorm", x, weight, bias, eps);
  const Tensor xc = x.contiguous();
  const Tensor wc = weight.defined() ? weight.contiguous() : Tensor();
  const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  const std::int64_t D = x.size(-1), rows = D ? x.numel() / D : 0;
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor mean = Tensor::empty({rows}, x.dtype()), rstd = Tensor::empty({rows}, x.dtype());
  dispatch_floating(x.dtype(), "layernorm", [&](auto type) {
    using T = decltype(type);
    cpu::LayerNormArgs<T> args;
    args.rows = rows;
    args.cols = D;
    args.eps = T(eps);
    args.x = xc.data<T>();
    args.weight = wc.defined() ? wc.data<T>() : nullptr;
    args.bias = bc.defined() ? bc.data<T>() : nullptr;
    args.y = y.data<T>();
    args.mean = mean.data<T>();
    args.rstd = rstd.data<T>();
    cpu::layernorm_fwd_cpu(args);
  });
  autograd::record("layernorm", {xc, wc, bc}, {y},
                   [xs = SavedTensor(xc), ws = SavedTensor(wc), ms = SavedTensor(mean), rs = SavedTensor(rstd), rows, D,
                    eps](const BackwardArgs& a) {
                     const Tensor g = a.grad().contiguous();
                     Tensor dx = Tensor::empty(g.shape(), g.dtype());
                     Tensor dw = a.needs(1) ? Tensor::empty({D}, g.dtype()) : Tensor();
                     Tensor db = a.needs(2) ? Tensor::empty({D}, g.dtype()) : Tensor();
                     dispatch_floating(g.dtype(), "layernorm backward", [&](auto type) {
                       using T = decltype(type);
                       Tensor m = ms.get(), r = rs.get();
                       cpu::LayerNormArgs<T> args;
                       args.rows = rows;
                       args.cols = D;
                       args.eps = T(eps);
                       args.x = xs.get().data<T>();
                       args.weight = ws.defined() ? ws.get().data<T>() : nullptr;
                       args.mean = m.data<T>();
                       args.rstd = r.data<T>();
                       args.g = g.data<T>();
                       args.dx = dx.data<T>();
                       args.dweight = dw.defined() ? dw.data<T>() : nullptr;
                       args.dbias = db.defined() ? db.data<T>() : nullptr;
                       cpu::layernorm_bwd_cpu(args);
                     });
                     return std::vector<Tensor>{dx, dw, db};
                   });
  return y;
}

}  // namespace strata
