// Causal depthwise conv1d (kernels/cpu/causal_conv1d).
#include "strata/ops/conv.h"

#include <string>
#include <vector>

#include "kernels/cpu/causal_conv1d.h"
#include "strata/autograd.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

namespace cpu = kernels::cpu;
using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

void check_conv_args(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& initial) {
  const char* op = "causal_conv1d";
  detail::check_floating(op, "x", x);
  detail::check_floating(op, "weight", weight);
  detail::common_dtype(op, {&x, &weight, &bias, &initial});
  detail::require_cpu_kernel(op, detail::common_device(op, {&x, &weight, &bias, &initial}));
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

}  // namespace

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& initial_state) {
  check_conv_args(x, weight, bias, initial_state);
  const Tensor xc = x.contiguous(), wc = weight.contiguous();
  const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  const Tensor ic = initial_state.defined() && weight.size(1) > 1 ? initial_state.contiguous() : Tensor();
  const std::int64_t B = x.size(0), T = x.size(1), D = x.size(2), K = weight.size(1);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  // Arguments over the given tensors (the forward's, or the saved ones in the backward).
  auto args_for = [B, T, D, K](auto type, const Tensor& xt, const Tensor& wt, const Tensor& bt, const Tensor& it) {
    using Type = decltype(type);
    cpu::CausalConv1dArgs<Type> a;
    a.batch = B;
    a.seq_len = T;
    a.channels = D;
    a.kernel_size = K;
    a.x = xt.data<Type>();
    a.weight = wt.data<Type>();
    a.bias = bt.defined() ? bt.data<Type>() : nullptr;
    a.initial = it.defined() ? it.data<Type>() : nullptr;
    return a;
  };
  dispatch_floating(x.dtype(), "causal_conv1d", [&](auto type) {
    using Type = decltype(type);
    cpu::CausalConv1dArgs<Type> a = args_for(type, xc, wc, bc, ic);
    a.y = y.data<Type>();
    cpu::causal_conv1d_fwd_cpu(a);
  });
  autograd::record("causal_conv1d", {xc, wc, bc, ic}, {y},
                   [args_for, xs = SavedTensor(xc), ws = SavedTensor(wc), bs = SavedTensor(bc), is = SavedTensor(ic),
                    B, T, D, K](const BackwardArgs& g) {
                     const Tensor dy = g.grad().contiguous();
                     Tensor dx = Tensor::empty({B, T, D}, dy.dtype());
                     Tensor dw = g.needs(1) ? Tensor::empty({D, K}, dy.dtype()) : Tensor();
                     Tensor db = g.needs(2) ? Tensor::empty({D}, dy.dtype()) : Tensor();
                     Tensor di = g.needs(3) ? Tensor::empty({B, K - 1, D}, dy.dtype()) : Tensor();
                     const Tensor none;
                     dispatch_floating(dy.dtype(), "causal_conv1d backward", [&](auto type) {
                       using Type = decltype(type);
                       cpu::CausalConv1dArgs<Type> a =
                           args_for(type, xs.get(), ws.get(), bs.defined() ? bs.get() : none,
                                    is.defined() ? is.get() : none);
                       a.dy = dy.data<Type>();
                       a.dx = dx.data<Type>();
                       a.dweight = dw.defined() ? dw.data<Type>() : nullptr;
                       a.dbias = db.defined() ? db.data<Type>() : nullptr;
                       a.dinitial = di.defined() ? di.data<Type>() : nullptr;
                       cpu::causal_conv1d_bwd_cpu(a);
                     });
                     return std::vector<Tensor>{dx, dw, db, di};
                   });
  return y;
}

Tensor causal_conv1d_final_state(const Tensor& x, const Tensor& initial_state, std::int64_t kernel_size) {
  if (x.rank() != 3) throw ShapeError("causal_conv1d_final_state: x must be [B, T, D], got " + x.shape().to_string());
  if (kernel_size < 1)
    throw ValueError("causal_conv1d_final_state: kernel_size = " + std::to_string(kernel_size) + " must be >= 1");
  const std::int64_t K1 = kernel_size - 1, T = x.size(1);
  const Tensor start = initial_state.defined() ? initial_state : Tensor::zeros({x.size(0), K1, x.size(2)}, x.dtype());
  if (start.rank() != 3 || start.size(1) != K1)
    throw ShapeError("causal_conv1d_final_state: initial_state " + start.shape().to_string() + " must have " +
                     std::to_string(K1) + " rows");
  return slice(concat({start, x}, 1), 1, T, T + K1);
}

}  // namespace strata
