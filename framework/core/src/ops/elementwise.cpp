// Broadcasting arithmetic, scalar arithmetic and pointwise activations.
#include "strata/ops/elementwise.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/ops/reduce.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

using kernels::BinaryOp;
using kernels::UnaryOp;
using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

Tensor binary(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  detail::check_floating(name, "a", a);
  detail::check_floating(name, "b", b);
  const DType dtype = detail::common_dtype(name, {&a, &b});
  const Device device = detail::common_device(name, {&a, &b});
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, dtype, device);
  core_kernels::table().binary.run(device, {.op = op, .a = &a, .b = &b, .out = &out});
  return out;
}

Tensor unary(UnaryOp op, const char* name, const Tensor& x, const kernels::UnaryParams& params = {}) {
  detail::check_floating(name, "x", x);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  core_kernels::table().unary.run(x.device(), {.op = op, .params = params, .x = &xc, .y = &out});
  // the derivative reads either the input or the output, never both: save only that one
  const SavedTensor saved(kernels::unary_bwd_uses_output(op) ? out : xc);
  autograd::record(name, {xc}, {out}, [op, params, saved](const BackwardArgs& a) {
    const Tensor g = a.grad().contiguous();
    const Tensor s = saved.get();
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    core_kernels::table().unary_backward.run(g.device(),
                                             {.op = op, .params = params, .saved = &s, .g = &g, .dx = &dx});
    return std::vector<Tensor>{dx};
  });
  return out;
}

// out = alpha * x + beta
Tensor affine(const char* name, const Tensor& x, double alpha, double beta) {
  detail::check_floating(name, "x", x);
  const Tensor xc = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  core_kernels::table().affine.run(x.device(), {.x = &xc, .out = &out, .alpha = alpha, .beta = beta});
  autograd::record(name, {xc}, {out}, [alpha](const BackwardArgs& a) {
    return std::vector<Tensor>{alpha == 1.0 ? a.grad() : scale(a.grad(), alpha)};
  });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::add, "add", a, b);
  autograd::record("add", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const BackwardArgs& g) {
    return std::vector<Tensor>{g.needs(0) ? sum_to(g.grad(), sa) : Tensor(),
                               g.needs(1) ? sum_to(g.grad(), sb) : Tensor()};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::sub, "sub", a, b);
  autograd::record("sub", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const BackwardArgs& g) {
    return std::vector<Tensor>{g.needs(0) ? sum_to(g.grad(), sa) : Tensor(),
                               g.needs(1) ? sum_to(neg(g.grad()), sb) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::mul, "mul", a, b);
  autograd::record("mul", {a, b}, {out}, [as = SavedTensor(a), bs = SavedTensor(b)](const BackwardArgs& g) {
    return std::vector<Tensor>{g.needs(0) ? sum_to(mul(g.grad(), bs.get()), as.get().shape()) : Tensor(),
                               g.needs(1) ? sum_to(mul(g.grad(), as.get()), bs.get().shape()) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary(BinaryOp::div, "div", a, b);
  // d(a/b)/db = -out / b
  autograd::record(
      "div", {a, b}, {out}, [sa = a.shape(), bs = SavedTensor(b), outs = SavedTensor(out)](const BackwardArgs& g) {
        const Tensor ga = div(g.grad(), bs.get());
        return std::vector<Tensor>{g.needs(0) ? sum_to(ga, sa) : Tensor(),
                                   g.needs(1) ? sum_to(neg(mul(ga, outs.get())), bs.get().shape()) : Tensor()};
      });
  return out;
}

Tensor add(const Tensor& a, double b) { return affine("add_scalar", a, 1.0, b); }
Tensor mul(const Tensor& a, double b) { return affine("mul_scalar", a, b, 0.0); }
Tensor scale(const Tensor& x, double factor) { return affine("scale", x, factor, 0.0); }
Tensor neg(const Tensor& x) { return affine("neg", x, -1.0, 0.0); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return add(a, -b); }

Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, "exp", x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, "log", x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, "sqrt", x); }
Tensor square(const Tensor& x) { return unary(UnaryOp::square, "square", x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, "tanh", x); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, "sigmoid", x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, "relu", x); }
Tensor silu(const Tensor& x) { return unary(UnaryOp::silu, "silu", x); }

Tensor gelu(const Tensor& x, GeluApprox approx) {
  return approx == GeluApprox::tanh ? unary(UnaryOp::gelu_tanh, "gelu_tanh", x)
                                    : unary(UnaryOp::gelu_erf, "gelu", x);
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (!(beta > 0)) throw ValueError("softplus: beta = " + std::to_string(beta) + " must be > 0");
  return unary(UnaryOp::softplus, "softplus", x, {beta, threshold});
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int lead = grad.rank() - shape.rank();
  if (lead < 0)
    throw ShapeError("sum_to: cannot reduce " + grad.shape().to_string() + " to the higher-rank " + shape.to_string());
  std::vector<int> axes;
  for (int i = 0; i < grad.rank(); ++i) {
    if (i < lead) {
      axes.push_back(i);
    } else if (shape[i - lead] == 1 && grad.shape()[i] != 1) {
      axes.push_back(i);
    } else if (shape[i - lead] != grad.shape()[i]) {
      throw ShapeError("sum_to: " + grad.shape().to_string() + " does not broadcast from " + shape.to_string());
    }
  }
  return reshape(sum(grad, axes, true), shape);
}

}  // namespace strata
