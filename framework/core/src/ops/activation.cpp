// SwiGLU on separate gate/up tensors or on one fused [gate | up] projection.
#include "strata/ops/activation.h"

#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

// gate and up rows of [rows, H]: two separate contiguous tensors, or (fused) the two halves
// of one [rows, 2H] projection, passed as both gate_src and up_src, whose gradient is then
// one [rows, 2H] tensor.
Tensor swiglu_rows(const Tensor& gate_src, const Tensor& up_src, bool fused, const Shape& out_shape, std::int64_t rows,
                   std::int64_t H) {
  const std::int64_t in_stride = fused ? 2 * H : H, up_offset = fused ? H : 0;
  Tensor out = Tensor::empty(out_shape, gate_src.dtype(), gate_src.device());
  core_kernels::table().swiglu.run(gate_src.device(), {.gate = &gate_src,
                                                       .up = &up_src,
                                                       .rows = rows,
                                                       .cols = H,
                                                       .in_stride = in_stride,
                                                       .up_offset = up_offset,
                                                       .out = &out});
  const std::vector<Tensor> inputs = fused ? std::vector<Tensor>{gate_src} : std::vector<Tensor>{gate_src, up_src};
  autograd::record("swiglu", inputs, std::span<Tensor>(&out, 1),
                   [gs = SavedTensor(gate_src), us = SavedTensor(up_src), fused, rows, H, in_stride,
                    up_offset](const BackwardArgs& a) {
                     const Tensor g = a.grad().contiguous();
                     const Tensor gate = gs.get(), up = us.get();
                     Tensor dgate = Tensor::empty(gate.shape(), g.dtype(), g.device());
                     Tensor dup = fused ? dgate : Tensor::empty(up.shape(), g.dtype(), g.device());
                     core_kernels::table().swiglu_backward.run(g.device(), {.gate = &gate,
                                                                            .up = &up,
                                                                            .rows = rows,
                                                                            .cols = H,
                                                                            .in_stride = in_stride,
                                                                            .up_offset = up_offset,
                                                                            .g = &g,
                                                                            .dgate = &dgate,
                                                                            .dup = &dup});
                     return fused ? std::vector<Tensor>{dgate} : std::vector<Tensor>{dgate, dup};
                   });
  return out;
}

}  // namespace

Tensor swiglu(const Tensor& gate, const Tensor& up) {
  detail::check_floating("swiglu", "gate", gate);
  detail::check_floating("swiglu", "up", up);
  if (gate.shape() != up.shape())
    throw ShapeError("swiglu: gate " + gate.shape().to_string() + " and up " + up.shape().to_string() +
                     " must have the same shape");
  detail::common_dtype("swiglu", {&gate, &up});
  detail::common_device("swiglu", {&gate, &up});
  const Tensor gc = gate.contiguous(), uc = up.contiguous();
  const std::int64_t H = gate.rank() ? gate.size(-1) : 1, rows = H ? gate.numel() / H : 0;
  return swiglu_rows(gc, uc, /*fused=*/false, gate.shape(), rows, H);
}

Tensor swiglu(const Tensor& x) {
  detail::check_floating("swiglu", "x", x);
  if (x.rank() < 1 || x.size(-1) % 2 != 0)
    throw ShapeError("swiglu: the fused input " + x.shape().to_string() + " needs an even last dim [gate | up]",
                     "pass gate and up as two tensors, or concatenate them along the last dim");
  const Tensor xc = x.contiguous();
  const std::int64_t H = x.size(-1) / 2, rows = H ? x.numel() / (2 * H) : 0;
  return swiglu_rows(xc, xc, /*fused=*/true, x.shape().with(-1, H), rows, H);
}

}  // namespace strata
