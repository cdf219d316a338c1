// Views: reshape, transpose, permute, slice, expand, squeeze/unsqueeze, flatten. Each
// returns a tensor sharing x's storage (reshape copies first when x is not contiguous)
// and records a backward that maps the gradient back to x's shape.
#include <algorithm>
#include <numeric>

#include "strata/autograd.h"
#include "strata/ops/elementwise.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

namespace {

Shape infer_shape(const Shape& requested, std::int64_t numel, const Shape& from) {
  Shape shape = requested;
  int infer = -1;
  std::int64_t known = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0)
        throw ShapeError("reshape: more than one -1 in " + requested.to_string(), "at most one size can be inferred");
      infer = i;
    } else if (shape[i] < 0) {
      throw ShapeError("reshape: negative size in " + requested.to_string());
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      throw ShapeError("reshape: cannot reshape " + from.to_string() + " (" + std::to_string(numel) + " elements) to " +
                       requested.to_string());
    shape[infer] = numel / known;
  }
  if (shape.numel() != numel)
    throw ShapeError("reshape: cannot reshape " + from.to_string() + " (" + std::to_string(numel) + " elements) to " +
                     requested.to_string() + " (" + std::to_string(shape.numel()) + " elements)");
  return shape;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined("reshape", "x", x);
  const Shape target = infer_shape(shape, x.numel(), x.shape());
  if (target == x.shape()) return x;
  const Tensor base = x.contiguous();
  Tensor out = detail::make_view(base, target, contiguous_strides(target), base.offset());
  autograd::record("reshape", {base}, {out}, [from = base.shape()](const autograd::BackwardArgs& a) {
    return std::vector<Tensor>{reshape(a.grad(), from)};
  });
  return out;
}

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  detail::check_defined("transpose", "x", x);
  dim0 = normalize_dim(dim0, x.rank(), "transpose");
  dim1 = normalize_dim(dim1, x.rank(), "transpose");
  if (dim0 == dim1) return x;
  Shape shape = x.shape();
  Strides strides = x.strides();
  std::swap(shape[dim0], shape[dim1]);
  std::swap(strides[dim0], strides[dim1]);
  Tensor out = detail::make_view(x, shape, strides, x.offset());
  autograd::record("transpose", {x}, {out}, [dim0, dim1](const autograd::BackwardArgs& a) {
    return std::vector<Tensor>{transpose(a.grad(), dim0, dim1)};
  });
  return out;
}

Tensor permute(const Tensor& x, std::span<const int> dims) {
  detail::check_defined("permute", "x", x);
  if (int(dims.size()) != x.rank())
    throw ShapeError("permute: " + std::to_string(dims.size()) + " dims given for a tensor of rank " +
                     std::to_string(x.rank()) + " " + x.shape().to_string());
  std::vector<int> order(dims.size()), inverse(dims.size(), -1);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    order[i] = normalize_dim(dims[i], x.rank(), "permute");
    if (inverse[std::size_t(order[i])] >= 0)
      throw ShapeError("permute: dim " + std::to_string(dims[i]) + " appears twice", "give each dim exactly once");
    inverse[std::size_t(order[i])] = int(i);
  }
  Shape shape = x.shape();
  Strides strides = x.strides();
  for (std::size_t i = 0; i < order.size(); ++i) {
    shape[int(i)] = x.shape()[order[i]];
    strides[int(i)] = x.strides()[order[i]];
  }
  Tensor out = detail::make_view(x, shape, strides, x.offset());
  autograd::record("permute", {x}, {out}, [inverse](const autograd::BackwardArgs& a) {
    return std::vector<Tensor>{permute(a.grad(), inverse)};
  });
  return out;
}

Tensor slice(const Tensor& x, int dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  detail::check_defined("slice", "x", x);
  dim = normalize_dim(dim, x.rank(), "slice");
  if (step < 1) throw ValueError("slice: step " + std::to_string(step) + " must be >= 1");
  const std::int64_t n = x.shape()[dim];
  auto clamp = [n](std::int64_t i) { return std::clamp(i < 0 ? i + n : i, std::int64_t{0}, n); };
  start = clamp(start);
  end = std::max(clamp(end), start);
  const std::int64_t count = end > start ? (end - start - 1) / step + 1 : 0;
  Shape shape = x.shape().with(dim, count);
  Strides strides = x.strides();
  // with one element the step never applies (and may be huge)
  if (count > 1 && __builtin_mul_overflow(strides[dim], step, &strides[dim]))
    throw ValueError("slice: step " + std::to_string(step) + " overflows the stride");
  Tensor out = detail::make_view(x, shape, strides, x.offset() + start * x.strides()[dim]);
  autograd::record("slice", {x}, {out}, [from = x.shape(), dim, start, end, step](const autograd::BackwardArgs& a) {
    Tensor dx = Tensor::zeros(from, a.grad().dtype(), a.grad().device());
    Tensor window = slice(dx, dim, start, end, step);
    detail::strided_copy(a.grad(), window);
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  detail::check_defined("expand", "x", x);
  if (shape.rank() < x.rank())
    throw ShapeError("expand: cannot expand " + x.shape().to_string() + " to the lower-rank shape " +
                     shape.to_string());
  const int lead = shape.rank() - x.rank();
  Shape target = shape;
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] == -1 && i >= lead) target[i] = x.shape()[i - lead];  // -1 keeps the size, as PyTorch
    if (target[i] < 0)
      throw ShapeError("expand: negative size in " + shape.to_string(), "sizes must be >= 0, or -1 to keep a dim");
  }
  if (target == x.shape()) return x;
  Strides strides = target;
  for (int i = 0; i < target.rank(); ++i) {
    const int xi = i - lead;
    if (xi < 0) {
      strides[i] = 0;
    } else if (x.shape()[xi] == target[i]) {
      strides[i] = x.strides()[xi];
    } else if (x.shape()[xi] == 1) {
      strides[i] = 0;
    } else {
      throw ShapeError("expand: cannot expand " + x.shape().to_string() + " to " + shape.to_string() + " (dim " +
                           std::to_string(i) + ": " + std::to_string(x.shape()[xi]) + " vs " +
                           std::to_string(target[i]) + ")",
                       "only size-1 dims can be expanded");
    }
  }
  Tensor out = detail::make_view(x, target, strides, x.offset());
  autograd::record("expand", {x}, {out}, [from = x.shape()](const autograd::BackwardArgs& a) {
    return std::vector<Tensor>{sum_to(a.grad(), from)};
  });
  return out;
}

Tensor unsqueeze(const Tensor& x, int dim) {
  detail::check_defined("unsqueeze", "x", x);
  dim = normalize_dim(dim, x.rank() + 1, "unsqueeze");
  // any stride is valid for a size-1 dim; use the one a contiguous layout would have
  const std::int64_t stride = dim < x.rank() ? x.strides()[dim] * x.shape()[dim] : 1;
  Tensor out = detail::make_view(x, x.shape().insert(dim, 1), x.strides().insert(dim, stride), x.offset());
  autograd::record("unsqueeze", {x}, {out},
                   [dim](const autograd::BackwardArgs& a) { return std::vector<Tensor>{squeeze(a.grad(), dim)}; });
  return out;
}

Tensor squeeze(const Tensor& x, int dim) {
  detail::check_defined("squeeze", "x", x);
  dim = normalize_dim(dim, x.rank(), "squeeze");
  if (x.shape()[dim] != 1)
    throw ShapeError("squeeze: dim " + std::to_string(dim) + " of " + x.shape().to_string() + " has size " +
                     std::to_string(x.shape()[dim]) + ", not 1");
  Tensor out = detail::make_view(x, x.shape().drop(dim), x.strides().drop(dim), x.offset());
  autograd::record("squeeze", {x}, {out},
                   [dim](const autograd::BackwardArgs& a) { return std::vector<Tensor>{unsqueeze(a.grad(), dim)}; });
  return out;
}

// ---- Tensor member shorthands ------------------------------------------------------

Tensor Tensor::reshape(const Shape& shape) const { return strata::reshape(*this, shape); }
Tensor Tensor::transpose(int dim0, int dim1) const { return strata::transpose(*this, dim0, dim1); }
Tensor Tensor::permute(std::span<const int> dims) const { return strata::permute(*this, dims); }
Tensor Tensor::permute(std::initializer_list<int> dims) const {
  return strata::permute(*this, std::span<const int>(dims.begin(), dims.size()));
}
Tensor Tensor::slice(int dim, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return strata::slice(*this, dim, start, end, step);
}
Tensor Tensor::expand(const Shape& shape) const { return strata::expand(*this, shape); }
Tensor Tensor::unsqueeze(int dim) const { return strata::unsqueeze(*this, dim); }
Tensor Tensor::squeeze(int dim) const { return strata::squeeze(*this, dim); }

Tensor Tensor::flatten(int start_dim, int end_dim) const {
  if (rank() == 0) return strata::reshape(*this, {1});
  start_dim = normalize_dim(start_dim, rank(), "flatten");
  end_dim = normalize_dim(end_dim, rank(), "flatten");
  if (start_dim > end_dim)
    throw ShapeError("flatten: start_dim " + std::to_string(start_dim) + " is after end_dim " +
                     std::to_string(end_dim));
  Shape shape;
  for (int i = 0; i < start_dim; ++i) shape.push_back(this->shape()[i]);
  std::int64_t merged = 1;
  for (int i = start_dim; i <= end_dim; ++i) merged *= this->shape()[i];
  shape.push_back(merged);
  for (int i = end_dim + 1; i < rank(); ++i) shape.push_back(this->shape()[i]);
  return strata::reshape(*this, shape);
}

}  // namespace strata
