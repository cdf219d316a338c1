// Row selection and accumulation along one axis: embedding, index_select, index_add.
#include <vector>

#include "index_checks.h"
#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/ops/indexing.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;

namespace {

// x viewed as [outer, n, inner] around dim
struct AxisSplit {
  std::int64_t outer = 1, n = 0, inner = 1;
};
AxisSplit split_at(const Shape& shape, int dim) {
  AxisSplit s;
  for (int i = 0; i < dim; ++i) s.outer *= shape[i];
  s.n = shape[dim];
  for (int i = dim + 1; i < shape.rank(); ++i) s.inner *= shape[i];
  return s;
}

Tensor index_select_impl(const char* op, const Tensor& x, int dim, const Tensor& index);

Tensor index_add_impl(const char* op, const Tensor& base, int dim, const Tensor& index, const Tensor& src) {
  detail::check_accumulate_args(op, base, index, src);
  dim = normalize_dim(dim, base.rank(), op);
  if (index.rank() != 1) throw ShapeError(std::string(op) + ": index must be 1-D, got " + index.shape().to_string());
  if (src.shape() != base.shape().with(dim, index.numel()))
    throw ShapeError(std::string(op) + ": src " + src.shape().to_string() + " must be base " +
                     base.shape().to_string() + " with dim " + std::to_string(dim) + " replaced by the index length " +
                     std::to_string(index.numel()));
  const Tensor ic = index.contiguous(), sc = src.contiguous();
  detail::check_indices(op, "index", ic, base.shape()[dim]);
  Tensor out = base.detach().clone();
  const AxisSplit s = split_at(base.shape(), dim);
  core_kernels::table().index_add.run(
      base.device(), {.src = &sc, .index = &ic, .dst = &out, .outer = s.outer, .n = s.n, .inner = s.inner});
  autograd::record(op, {base, sc}, {out}, [is = autograd::SavedTensor(ic), dim](const BackwardArgs& a) {
    return std::vector<Tensor>{
        a.needs(0) ? a.grad() : Tensor(),
        a.needs(1) ? index_select_impl("index_add backward", a.grad(), dim, is.get()) : Tensor()};
  });
  return out;
}

Tensor index_select_impl(const char* op, const Tensor& x, int dim, const Tensor& index) {
  detail::check_defined(op, "x", x);
  detail::check_index_tensor(op, "index", index);
  detail::common_device(op, {&x, &index});
  dim = normalize_dim(dim, x.rank(), op);
  if (index.rank() != 1) throw ShapeError(std::string(op) + ": index must be 1-D, got " + index.shape().to_string());
  const Tensor xc = x.contiguous(), ic = index.contiguous();
  detail::check_indices(op, "index", ic, x.shape()[dim]);
  const AxisSplit s = split_at(x.shape(), dim);
  Tensor out = Tensor::empty(x.shape().with(dim, ic.numel()), x.dtype(), x.device());
  core_kernels::table().index_select.run(
      x.device(), {.src = &xc, .index = &ic, .dst = &out, .outer = s.outer, .n = s.n, .inner = s.inner});
  if (is_floating(x.dtype())) {
    autograd::record(op, {xc}, {out}, [is = autograd::SavedTensor(ic), dim, from = x.shape()](const BackwardArgs& a) {
      const Tensor zeros = Tensor::zeros(from, a.grad().dtype(), a.grad().device());
      return std::vector<Tensor>{index_add_impl("index_select backward", zeros, dim, is.get(), a.grad())};
    });
  }
  return out;
}

}  // namespace

Tensor index_select(const Tensor& x, int dim, const Tensor& index) {
  return index_select_impl("index_select", x, dim, index);
}

Tensor index_add(const Tensor& base, int dim, const Tensor& index, const Tensor& src) {
  return index_add_impl("index_add", base, dim, index, src);
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  detail::check_floating("embedding", "weight", weight);
  detail::check_index_tensor("embedding", "ids", ids);
  if (weight.rank() != 2) throw ShapeError("embedding: weight must be [V, D], got " + weight.shape().to_string());
  Shape out_shape = ids.shape();
  out_shape.push_back(weight.size(1));
  return reshape(index_select_impl("embedding", weight, 0, reshape(ids, {-1})), out_shape);
}

}  // namespace strata
