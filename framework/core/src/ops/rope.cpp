// Rotary position embedding.
#include "strata/ops/rope.h"

#include <cmath>
#include <string>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;

namespace {

// Rotates x (heads packed: detail::heads_packed) into a new contiguous tensor.
Tensor rotate(const Tensor& x, const RopeOptions& o, bool inverse) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  core_kernels::table().rope.run(x.device(), {.x = &x,
                                              .out = &out,
                                              .rotary_dim = o.rotary_dim,
                                              .position_offset = o.position_offset,
                                              .positions = o.positions.defined() ? &o.positions : nullptr,
                                              .theta = o.theta,
                                              .inv_freq = o.inv_freq.empty() ? nullptr : o.inv_freq.data(),
                                              .scale = o.scale,
                                              .interleaved = o.interleaved,
                                              .inverse = inverse});
  return out;
}

}  // namespace

Tensor rope(const Tensor& x, const RopeOptions& options) {
  const char* op = "rope";
  detail::check_floating(op, "x", x);
  if (x.rank() != 4)
    throw ShapeError("rope: x must be [B, T, H, head_dim], got " + x.shape().to_string(),
                     "reshape the projection to [batch, time, heads, head_dim] first");
  RopeOptions o = options;
  const std::int64_t head_dim = x.size(3);
  if (o.rotary_dim == 0) o.rotary_dim = head_dim;
  if (o.rotary_dim < 2 || o.rotary_dim > head_dim || o.rotary_dim % 2 != 0)
    throw ValueError("rope: rotary_dim = " + std::to_string(o.rotary_dim) + " must be even and in [2, head_dim = " +
                     std::to_string(head_dim) + "]");
  if (!(o.theta > 1.0) || !std::isfinite(o.theta))
    throw ValueError("rope: theta = " + std::to_string(o.theta) + " must be a finite number > 1");
  if (!o.inv_freq.empty()) {
    if (std::int64_t(o.inv_freq.size()) != o.rotary_dim / 2)
      throw ValueError("rope: " + std::to_string(o.inv_freq.size()) + " inverse frequencies for rotary_dim = " +
                       std::to_string(o.rotary_dim) + " (needs one per channel pair: " +
                       std::to_string(o.rotary_dim / 2) + ")");
    for (double f : o.inv_freq)
      if (!(f > 0) || !std::isfinite(f))
        throw ValueError("rope: inverse frequency " + std::to_string(f) + " must be a finite number > 0");
  }
  if (!(o.scale > 0) || !std::isfinite(o.scale))
    throw ValueError("rope: scale = " + std::to_string(o.scale) + " must be a finite number > 0");
  if (o.position_offset < 0)
    throw ValueError("rope: position_offset = " + std::to_string(o.position_offset) + " must be >= 0");
  if (o.positions.defined()) {
    if (o.positions.dtype() != DType::i64 || !o.positions.device().is_cpu() || o.positions.rank() != 2 ||
        o.positions.size(0) != x.size(0) || o.positions.size(1) != x.size(1))
      throw ShapeError("rope: positions must be [B, T] = [" + std::to_string(x.size(0)) + ", " +
                       std::to_string(x.size(1)) + "] i64 on the CPU, got " + o.positions.shape().to_string() + " " +
                       std::string(dtype_name(o.positions.dtype())));
    o.positions = o.positions.contiguous();
    for (const std::int64_t p : o.positions.to_vector<std::int64_t>())
      if (p < 0 || p >= x.size(1))
        throw ValueError("rope: position " + std::to_string(p) + " is outside [0, T = " + std::to_string(x.size(1)) + ")",
                         "positions count tokens within each packed document");
  }
  const Tensor xc = detail::heads_packed(x);
  Tensor y = rotate(xc, o, /*inverse=*/false);
  autograd::record(op, {xc}, {y}, [o](const BackwardArgs& a) {
    return std::vector<Tensor>{rotate(a.grad().contiguous(), o, /*inverse=*/true)};
  });
  return y;
}

}  // namespace strata
