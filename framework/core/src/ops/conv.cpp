// Causal depthwise conv1d (a fused kernel of the backend table).
#include "strata/ops/conv.h"

#include <string>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/ops/shape_ops.h"
#include "strata/packing.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

void check_conv_args(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& initial) {
  const char* op = "causal_conv1d";
  detail::check_floating(op, "x", x);
  detail::check_floating(op, "weight", weight);
  detail::common_dtype(op, {&x, &weight, &bias, &initial});
  detail::common_device(op, {&x, &weight, &bias, &initial});
  if (x.rank() != 3) throw ShapeError("causal_conv1d: x must be [B, T, D], got " + x.shape().to_string());
  const std::int64_t D = x.size(2);
  if (weight.rank() != 2 || weight.size(0) != D || weight.size(1) < 1)
    throw ShapeError("causal_conv1d: weight " + weight.shape().to_string() + " does not match x " +
                         x.shape().to_string(),
                     "weight is [D, K] with D = x.size(2) and K >= 1");
  if (bias.defined() && (bias.rank() != 1 || bias.size(0) != D))
    throw ShapeError("causal_conv1d: bias " + bias.shape().to_string() + " must be [" + std::to_string(D) + "]");
  const Shape state{x.size(0), weight.size(1) - 1, D};
  if (initial.defined() && initial.shape() != state)
    throw ShapeError("causal_conv1d: initial_state " + initial.shape().to_string() + " must be " + state.to_string(),
                     "the state holds the last K-1 inputs of each sequence");
}

// The kernel call over the given (contiguous) tensors; the caller adds outputs or gradients.
core_kernels::CausalConvCall conv_call(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& initial,
                                       const Tensor& starts, std::int64_t B, std::int64_t T, std::int64_t D,
                                       std::int64_t K) {
  return {.batch = B, .seq_len = T, .channels = D, .kernel_size = K, .x = &x, .weight = &weight, .bias = &bias,
          .initial = &initial, .seq_start = starts.defined() ? &starts : nullptr};
}

}  // namespace

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& initial_state,
                     const Tensor& sequence_starts) {
  check_conv_args(x, weight, bias, initial_state);
  if (sequence_starts.defined()) check_sequence_starts(sequence_starts, x.size(0), x.size(1), "causal_conv1d");
  const Tensor sc = sequence_starts.defined() ? sequence_starts.contiguous() : Tensor();
  const Tensor xc = x.contiguous(), wc = weight.contiguous();
  const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  const Tensor ic = initial_state.defined() && weight.size(1) > 1 ? initial_state.contiguous() : Tensor();
  const std::int64_t B = x.size(0), T = x.size(1), D = x.size(2), K = weight.size(1);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  core_kernels::CausalConvCall call = conv_call(xc, wc, bc, ic, sc, B, T, D, K);
  call.y = &y;
  core_kernels::table().causal_conv1d.run(x.device(), call);
  autograd::record("causal_conv1d", {xc, wc, bc, ic}, {y},
                   [xs = SavedTensor(xc), ws = SavedTensor(wc), bs = SavedTensor(bc), is = SavedTensor(ic), sc, B, T,
                    D, K](const BackwardArgs& g) {
                     const Tensor dy = g.grad().contiguous();
                     const Device device = dy.device();
                     const Tensor xt = xs.get(), wt = ws.get();
                     const Tensor bt = bs.defined() ? bs.get() : Tensor(), it = is.defined() ? is.get() : Tensor();
                     Tensor dx = Tensor::empty({B, T, D}, dy.dtype(), device);
                     Tensor dw = g.needs(1) ? Tensor::empty({D, K}, dy.dtype(), device) : Tensor();
                     Tensor db = g.needs(2) ? Tensor::empty({D}, dy.dtype(), device) : Tensor();
                     Tensor di = g.needs(3) ? Tensor::empty({B, K - 1, D}, dy.dtype(), device) : Tensor();
                     core_kernels::CausalConvCall call = conv_call(xt, wt, bt, it, sc, B, T, D, K);
                     call.dy = &dy;
                     call.dx = &dx;
                     call.dweight = &dw;
                     call.dbias = &db;
                     call.dinitial = &di;
                     core_kernels::table().causal_conv1d_backward.run(device, call);
                     return std::vector<Tensor>{dx, dw, db, di};
                   });
  return y;
}

Tensor causal_conv1d_final_state(const Tensor& x, const Tensor& initial_state, std::int64_t kernel_size) {
  if (x.rank() != 3) throw ShapeError("causal_conv1d_final_state: x must be [B, T, D], got " + x.shape().to_string());
  if (kernel_size < 1)
    throw ValueError("causal_conv1d_final_state: kernel_size = " + std::to_string(kernel_size) + " must be >= 1");
  const std::int64_t K1 = kernel_size - 1, T = x.size(1);
  const Tensor start = initial_state.defined() ? initial_state : Tensor::zeros({x.size(0), K1, x.size(2)}, x.dtype(), x.device());
  if (start.rank() != 3 || start.size(1) != K1)
    throw ShapeError("causal_conv1d_final_state: initial_state " + start.shape().to_string() + " must have " +
                     std::to_string(K1) + " rows");
  return slice(concat({start, x}, 1), 1, T, T + K1);
}

}  // namespace strata
