// Batched matrix products and linear layers through BLAS.
#include "strata/ops/matmul.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/precision.h"
#include "strata/ops/elementwise.h"
#include "strata/ops/reduce.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

// How BLAS reads the last two dims of a tensor: as stored (row-major, row stride ld), or
// as the transpose of a row-major matrix (a transposed view), flipping `trans`. Only a
// layout that is neither gets copied.
struct BlasMatrix {
  Tensor t;
  bool trans = false;
  std::int64_t ld = 1;
};

BlasMatrix as_blas_matrix(const Tensor& x, bool trans) {
  const std::int64_t rows = x.size(-2), cols = x.size(-1);
  const std::int64_t rs = x.strides()[x.rank() - 2], cs = x.strides()[x.rank() - 1];
  if ((cs == 1 || cols == 1) && (rows == 1 || rs >= std::max<std::int64_t>(cols, 1)))
    return {x, trans, rows == 1 ? std::max<std::int64_t>(cols, 1) : rs};
  if ((rs == 1 || rows == 1) && (cols == 1 || cs >= std::max<std::int64_t>(rows, 1)))
    return {x, !trans, cols == 1 ? std::max<std::int64_t>(rows, 1) : cs};
  const Tensor c = x.contiguous();
  return {c, trans, std::max<std::int64_t>(cols, 1)};
}

// Element offsets of each batch entry of x (batch dims = all but the last two) when its
// batch dims broadcast to `batch`.
std::vector<std::int64_t> batch_offsets(const Tensor& x, const Shape& batch) {
  const std::int64_t count = batch.numel();
  std::vector<std::int64_t> off(std::size_t(count), 0);
  const int xb = x.rank() - 2, lead = batch.rank() - xb;
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t rest = i, o = 0;
    for (int d = batch.rank() - 1; d >= 0; --d) {
      const std::int64_t idx = rest % batch[d];
      rest /= batch[d];
      const int xd = d - lead;
      if (xd >= 0 && x.shape()[xd] != 1) o += idx * x.strides()[xd];
    }
    off[std::size_t(i)] = o;
  }
  return off;
}

Shape batch_shape_of(const Tensor& x) {
  Shape s;
  for (int i = 0; i < x.rank() - 2; ++i) s.push_back(x.shape()[i]);
  return s;
}

// x: [..., n] -> [rows, n] (rank 1 becomes one row); explicit sizes, since -1 cannot be
// inferred when n is 0
Tensor as_rows(const Tensor& x) { return reshape(x, {x.shape().drop(-1).numel(), x.size(-1)}); }

void check_matmul_operand(const char* op, const char* arg, const Tensor& t) {
  detail::check_floating(op, arg, t);
  if (t.rank() < 2)
    throw ShapeError(std::string(op) + ": '" + arg + "' must have rank >= 2, got " + t.shape().to_string(),
                     "reshape a vector to [1, n] or [n, 1]");
}

// c [m, n] (f32, contiguous) = op(a) op(b) + (accumulate ? c : 0) over contiguous 2-D
// operands: a is [m, k] or, transposed, [k, m]; b is [k, n] or [n, k]. The mixed-precision
// products pass bf16 operands, or f32 ones with tf32 set (the backend rounds them); the
// backend accumulates in f32.
void product_2d(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b, Tensor& c, bool accumulate,
                bool tf32) {
  const std::int64_t m = c.size(0), n = c.size(1), k = trans_a ? a.size(0) : a.size(1);
  core_kernels::table().gemm.run(c.device(), {.trans_a = trans_a,
                                              .trans_b = trans_b,
                                              .m = m,
                                              .n = n,
                                              .k = k,
                                              .beta = accumulate ? 1.0 : 0.0,
                                              .a = &a,
                                              .lda = std::max<std::int64_t>(a.size(1), 1),
                                              .b = &b,
                                              .ldb = std::max<std::int64_t>(b.size(1), 1),
                                              .c = &c,
                                              .ldc = std::max<std::int64_t>(n, 1),
                                              .tf32 = tf32});
}

// linear under a reduced-precision policy (bf16 or tf32): x2 [rows, in] and weight
// [out, in] as the policy's operands, the products (forward and backward) accumulated in
// f32; out [.., out] f32.
Tensor linear_reduced(const Tensor& x, const Tensor& x2, const Tensor& weight, const Tensor& bias, Tensor out,
                      Precision precision) {
  const bool tf32 = precision == Precision::tf32;
  const Tensor xo = detail::policy_operand(x2, precision), wo = detail::policy_operand(weight, precision);
  Tensor out2 = reshape(out.detach(), {x2.size(0), weight.size(0)});
  if (bias.defined()) detail::strided_copy(bias, out2);
  product_2d(xo, false, wo, true, out2, bias.defined(), tf32);
  autograd::record("linear", {x, weight, bias}, {out},
                   [xo, wo, precision, tf32, x_shape = x.shape()](const BackwardArgs& a) {
                     const Tensor g2 = as_rows(a.grad());                  // [rows, out] f32
                     const Tensor go = detail::policy_operand(g2, precision);
                     const std::int64_t rows = g2.size(0), n_out = g2.size(1), n_in = wo.size(1);
                     Tensor dx, dw, db;
                     if (a.needs(0)) {  // [rows, in] = g [rows, out] W [out, in]
                       dx = Tensor::empty({rows, n_in}, DType::f32, g2.device());
                       product_2d(go, false, wo, false, dx, false, tf32);
                       dx = reshape(dx, x_shape);
                     }
                     if (a.needs(1)) {  // [out, in] = g^T [out, rows] x [rows, in]
                       dw = Tensor::empty({n_out, n_in}, DType::f32, g2.device());
                       product_2d(go, true, xo, false, dw, false, tf32);
                     }
                     if (a.needs(2)) db = sum(g2, {0});
                     return std::vector<Tensor>{dx, dw, db};
                   });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_matmul_operand("matmul", "a", a);
  check_matmul_operand("matmul", "b", b);
  const DType dtype = detail::common_dtype("matmul", {&a, &b});
  const Device device = detail::common_device("matmul", {&a, &b});
  const std::int64_t M = trans_a ? a.size(-1) : a.size(-2), K = trans_a ? a.size(-2) : a.size(-1);
  const std::int64_t Kb = trans_b ? b.size(-1) : b.size(-2), N = trans_b ? b.size(-2) : b.size(-1);
  if (K != Kb)
    throw ShapeError("matmul: inner dimensions differ: a is " + a.shape().to_string() +
                         (trans_a ? " (transposed)" : "") + ", b is " + b.shape().to_string() +
                         (trans_b ? " (transposed)" : "") + ", so " + std::to_string(K) + " != " + std::to_string(Kb),
                     "a: [..., M, K] and b: [..., K, N]");
  const Shape batch = broadcast_shapes(batch_shape_of(a), batch_shape_of(b), "matmul (batch dims)");
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, dtype, device);

  const BlasMatrix ma = as_blas_matrix(a.detach(), trans_a), mb = as_blas_matrix(b.detach(), trans_b);
  const std::int64_t count = batch.numel();
  std::vector<std::int64_t> a_off = batch_offsets(ma.t, batch), b_off = batch_offsets(mb.t, batch);
  std::vector<std::int64_t> c_off(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) c_off[std::size_t(i)] = i * M * N;

  core_kernels::GemmCall g{.trans_a = ma.trans,
                           .trans_b = mb.trans,
                           .m = M,
                           .n = N,
                           .k = K,
                           .a = &ma.t,
                           .lda = ma.ld,
                           .b = &mb.t,
                           .ldb = mb.ld,
                           .c = &out,
                           .ldc = std::max<std::int64_t>(N, 1)};
  // One tall product when b is shared by the whole batch and a's batch rows follow each
  // other at the row stride (e.g. x [B, T, D] times a weight): the backend then sees
  // M * batch rows instead of many short products.
  bool fold = count > 1 && !ma.trans;
  for (std::int64_t i = 0; fold && i < count; ++i)
    fold = b_off[std::size_t(i)] == b_off[0] && a_off[std::size_t(i)] == a_off[0] + i * M * ma.ld;
  g.count = fold ? 1 : count;
  g.m = fold ? M * count : M;
  g.a_offsets = std::span<const std::int64_t>(a_off).first(std::size_t(g.count));
  g.b_offsets = std::span<const std::int64_t>(b_off).first(std::size_t(g.count));
  g.c_offsets = std::span<const std::int64_t>(c_off).first(std::size_t(g.count));
  core_kernels::table().gemm.run(device, g);

  autograd::record("matmul", {a, b}, {out},
                   [as = SavedTensor(a), bs = SavedTensor(b), trans_a, trans_b](const BackwardArgs& args) {
                     const Tensor& g = args.grad();
                     const Tensor& sa = as.get();
                     const Tensor& sb = bs.get();
                     Tensor da, db;
                     if (args.needs(0)) {
                       // a stored as S_a, A = trans_a ? S_a^T : S_a; dA = G B^T
                       da = trans_a ? matmul(sb, g, trans_b, true) : matmul(g, sb, false, !trans_b);
                       da = sum_to(da, sa.shape());
                     }
                     if (args.needs(1)) {
                       // dB = A^T G; when b is shared across a's batch, fold the batch into one product
                       if (sb.rank() == 2 && sa.rank() > 2 && !trans_a) {
                         const Tensor a2 = as_rows(sa), g2 = as_rows(g);
                         db = trans_b ? matmul(g2, a2, true, false) : matmul(a2, g2, true, false);
                       } else {
                         db = trans_b ? matmul(g, sa, true, trans_a) : matmul(sa, g, !trans_a, false);
                         db = sum_to(db, sb.shape());
                       }
                     }
                     return std::vector<Tensor>{da, db};
                   });
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  detail::check_floating("linear", "x", x);
  detail::check_floating("linear", "weight", weight);
  if (weight.rank() != 2) throw ShapeError("linear: weight must be [out, in], got " + weight.shape().to_string());
  if (x.rank() < 1 || x.size(-1) != weight.size(1))
    throw ShapeError("linear: x " + x.shape().to_string() + " does not match weight " + weight.shape().to_string() +
                         ": the last dim of x must equal weight's in-features " + std::to_string(weight.size(1)),
                     "weight is [out_features, in_features], as in PyTorch");
  if (bias.defined() && (bias.rank() != 1 || bias.size(0) != weight.size(0)))
    throw ShapeError("linear: bias " + bias.shape().to_string() + " does not match weight " +
                     weight.shape().to_string() + " (expected [" + std::to_string(weight.size(0)) + "])");
  const DType dtype = detail::common_dtype("linear", {&x, &weight, &bias});
  const Device device = detail::common_device("linear", {&x, &weight, &bias});
  const std::int64_t in = weight.size(1), out_features = weight.size(0);
  const std::int64_t rows = x.shape().drop(-1).numel();
  const Tensor x2 = reshape(x.detach().contiguous(), {rows, in});
  Shape out_shape = x.shape().with(-1, out_features);
  Tensor out = Tensor::empty(out_shape, dtype, device);
  if (const Precision p = compute_precision(); p != Precision::f32 && dtype == DType::f32)
    return linear_reduced(x, x2, weight, bias, out, p);
  const BlasMatrix w = as_blas_matrix(weight.detach(), true);
  if (bias.defined()) {  // C starts as the broadcast bias, and the product adds to it
    Tensor view = out.detach();
    detail::strided_copy(bias, view);
  }
  core_kernels::table().gemm.run(device, {.trans_a = false,
                                          .trans_b = w.trans,
                                          .m = rows,
                                          .n = out_features,
                                          .k = in,
                                          .beta = bias.defined() ? 1.0 : 0.0,
                                          .a = &x2,
                                          .lda = std::max<std::int64_t>(in, 1),
                                          .b = &w.t,
                                          .ldb = w.ld,
                                          .c = &out,
                                          .ldc = std::max<std::int64_t>(out_features, 1)});
  autograd::record("linear", {x, weight, bias}, {out},
                   [xs = SavedTensor(x2), ws = SavedTensor(weight), x_shape = x.shape()](const BackwardArgs& a) {
                     const Tensor g2 = as_rows(a.grad());
                     Tensor dx, dw, db;
                     if (a.needs(0)) dx = reshape(matmul(g2, ws.get()), x_shape);
                     if (a.needs(1)) dw = matmul(g2, as_rows(xs.get()), true, false);
                     if (a.needs(2)) db = sum(g2, {0});
                     return std::vector<Tensor>{dx, dw, db};
                   });
  return out;
}

}  // namespace strata
