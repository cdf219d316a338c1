// rmsnorm and layernorm over the last axis.
#include "strata/ops/norm.h"

#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "tensor_internal.h"

namespace strata {

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
  detail::common_device(op, {&x, &weight, &bias});
  if (!(eps > 0)) throw ValueError(std::string(op) + ": eps = " + std::to_string(eps) + " must be > 0");
}

// The kernel call over rows of x [rows, cols] with weight and bias (either may be undefined)
// and the per-row statistics; the caller adds what the forward writes or the backward needs.
// (The call keeps pointers: pass named tensors, never temporaries.)
core_kernels::NormCall norm_call(std::int64_t rows, std::int64_t cols, double eps, const Tensor& x, const Tensor& weight,
                                 const Tensor& bias, Tensor& mean, Tensor& rstd) {
  return {.rows = rows, .cols = cols, .eps = eps, .x = &x, .weight = &weight, .bias = &bias, .mean = &mean,
          .rstd = &rstd};
}

}  // namespace

Tensor rmsnorm(const Tensor& x, const Tensor& weight, double eps) {
  check_norm_args("rmsnorm", x, weight, Tensor(), eps);
  const Tensor xc = x.contiguous(), wc = weight.defined() ? weight.contiguous() : Tensor();
  const std::int64_t D = x.size(-1), rows = D ? x.numel() / D : 0;
  const Device device = x.device();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  Tensor rstd = Tensor::empty({rows}, x.dtype(), device);
  const Tensor no_bias;
  Tensor no_mean;
  core_kernels::NormCall call = norm_call(rows, D, eps, xc, wc, no_bias, no_mean, rstd);
  call.y = &y;
  core_kernels::table().rmsnorm.run(device, call);
  autograd::record(
      "rmsnorm", {xc, wc}, {y},
      [xs = SavedTensor(xc), ws = SavedTensor(wc), rs = SavedTensor(rstd), rows, D, eps](const BackwardArgs& a) {
        const Tensor g = a.grad().contiguous();
        const Tensor xt = xs.get(), wt = ws.defined() ? ws.get() : Tensor();
        Tensor r = rs.get();
        Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
        Tensor dw = a.needs(1) ? Tensor::empty({D}, g.dtype(), g.device()) : Tensor();
        const Tensor no_bias;
        Tensor no_mean;
        core_kernels::NormCall call = norm_call(rows, D, eps, xt, wt, no_bias, no_mean, r);
        call.g = &g;
        call.dx = &dx;
        call.dweight = &dw;
        core_kernels::table().rmsnorm_backward.run(g.device(), call);
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
  const Device device = x.device();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  Tensor mean = Tensor::empty({rows}, x.dtype(), device), rstd = Tensor::empty({rows}, x.dtype(), device);
  core_kernels::NormCall call = norm_call(rows, D, eps, xc, wc, bc, mean, rstd);
  call.y = &y;
  core_kernels::table().layernorm.run(device, call);
  autograd::record("layernorm", {xc, wc, bc}, {y},
                   [xs = SavedTensor(xc), ws = SavedTensor(wc), ms = SavedTensor(mean), rs = SavedTensor(rstd), rows, D,
                    eps](const BackwardArgs& a) {
                     const Tensor g = a.grad().contiguous();
                     const Tensor xt = xs.get(), wt = ws.defined() ? ws.get() : Tensor();
                     Tensor m = ms.get(), r = rs.get();
                     Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
                     Tensor dw = a.needs(1) ? Tensor::empty({D}, g.dtype(), g.device()) : Tensor();
                     Tensor db = a.needs(2) ? Tensor::empty({D}, g.dtype(), g.device()) : Tensor();
                     const Tensor bias_unused;  // the backward does not read the bias
                     core_kernels::NormCall call = norm_call(rows, D, eps, xt, wt, bias_unused, m, r);
                     call.g = &g;
                     call.dx = &dx;
                     call.dweight = &dw;
                     call.dbias = &db;
                     core_kernels::table().layernorm_backward.run(g.device(), call);
                     return std::vector<Tensor>{dx, dw, db};
                   });
  return y;
}

}  // namespace strata
