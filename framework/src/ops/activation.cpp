// SwiGLU on separate gate/up tensors or on one fused [gate | up] projection.
#include "strata/ops/activation.h"

#include <vector>

#include "kernels/cpu/swiglu.h"
#include "strata/autograd.h"
#include "tensor_internal.h"

namespace strata {

namespace cpu = kernels::cpu;
using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

// gate/up rows live in `gate_src`/`up_src` at row stride `in_stride`; `fused` says they are
// the two halves of one tensor (whose gradient is then one [rows, 2H] tensor).
template <class T>
cpu::SwigluArgs<T> swiglu_args(const Tensor& gate_src, const Tensor& up_src, std::int64_t rows, std::int64_t H,
                               std::int64_t in_stride, std::int64_t up_offset) {
  cpu::SwigluArgs<T> args;
  args.rows = rows;
  args.cols = H;
  args.gate = gate_src.data<T>();
  args.up = up_src.data<T>() + up_offset;
  args.in_stride = in_stride;
  return args;
}

}  // namespace

Tensor swiglu(const Tensor& gate, const Tensor& up) {
  detail::check_floating("swiglu", "gate", gate);
  detail::check_floating("swiglu", "up", up);
  if (gate.shape() != up.shape())
    throw ShapeError("swiglu: gate " + gate.shape().to_string() + " and up " + up.shape().to_string() +
                     " must have the same shape");
  detail::common_dtype("swiglu", {&gate, &up});
  detail::require_cpu_kernel("swiglu", detail::common_device("swiglu", {&gate, &up}));
  const Tensor gc = gate.contiguous(), uc = up.contiguous();
  const std::int64_t H = gate.rank() ? gate.size(-1) : 1, rows = H ? gate.numel() / H : 0;
  Tensor out = Tensor::empty(gate.shape(), gate.dtype());
  dispatch_floating(gate.dtype(), "swiglu", [&](auto type) {
    using T = decltype(type);
    auto args = swiglu_args<T>(gc, uc, rows, H, H, 0);
    args.out = out.data<T>();
    cpu::swiglu_fwd_cpu(args);
  });
  autograd::record("swiglu", {gc, uc}, {out},
                   [gs = SavedTensor(gc), us = SavedTensor(uc), rows, H](const BackwardArgs& a) {
                     const Tensor g = a.grad().contiguous();
                     Tensor dgate = Tensor::empty(g.shape(), g.dtype()), dup = Tensor::empty(g.shape(), g.dtype());
                     dispatch_floating(g.dtype(), "swiglu backward", [&](auto type) {
                       using T = decltype(type);
                       auto args = swiglu_args<T>(gs.get(), us.get(), rows, H, H, 0);
                       args.g = g.data<T>();
                       args.dgate = dgate.data<T>();
                       args.dup = dup.data<T>();
                       cpu::swiglu_bwd_cpu(args);
                     });
                     return std::vector<Tensor>{dgate, dup};
                   });
  return out;
}

Tensor swiglu(const Tensor& x) {
  detail::check_floating("swiglu", "x", x);
  detail::require_cpu_kernel("swiglu", x.device());
  if (x.rank() < 1 || x.size(-1) % 2 != 0)
    throw ShapeError("swiglu: the fused input " + x.shape().to_string() + " needs an even last dim [gate | up]",
                     "pass gate and up as two tensors, or concatenate them along the last dim");
  const Tensor xc = x.contiguous();
  const std::int64_t H = x.size(-1) / 2, rows = H ? x.numel() / (2 * H) : 0;
  Tensor out = Tensor::empty(x.shape().with(-1, H), x.dtype());
  dispatch_floating(x.dtype(), "swiglu", [&](auto type) {
    using T = decltype(type);
    auto args = swiglu_args<T>(xc, xc, rows, H, 2 * H, H);
    args.out = out.data<T>();
    cpu::swiglu_fwd_cpu(args);
  });
  autograd::record("swiglu", {xc}, {out}, [xs = SavedTensor(xc), rows, H](const BackwardArgs& a) {
    const Tensor g = a.grad().contiguous();
    const Tensor& s = xs.get();
    Tensor dx = Tensor::empty(s.shape(), s.dtype());
    dispatch_floating(g.dtype(), "swiglu backward", [&](auto type) {
      using T = decltype(type);
      auto args = swiglu_args<T>(s, s, rows, H, 2 * H, H);
      args.g = g.data<T>();
      args.dgate = dx.data<T>();
      args.dup = dx.data<T>() + H;
      cpu::swiglu_bwd_cpu(args);
    });
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace strata
