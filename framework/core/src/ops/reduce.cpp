// sum and mean over axes.
#include "strata/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/ops/elementwise.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

namespace {

std::vector<int> normalized_axes(const char* op, std::span<const int> axes, int rank) {
  std::vector<int> out;
  for (int a : axes) {
    const int d = normalize_dim(a, rank, op);
    if (std::find(out.begin(), out.end(), d) != out.end())
      throw ShapeError(std::string(op) + ": axis " + std::to_string(a) + " is given twice");
    out.push_back(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Sums x (contiguous) over one run of adjacent axes [first, last]; keeps them as size 1.
Tensor sum_run(const Tensor& x, int first, int last) {
  std::int64_t A = 1, R = 1, C = 1;
  for (int i = 0; i < first; ++i) A *= x.shape()[i];
  for (int i = first; i <= last; ++i) R *= x.shape()[i];
  for (int i = last + 1; i < x.rank(); ++i) C *= x.shape()[i];
  Shape shape = x.shape();
  for (int i = first; i <= last; ++i) shape[i] = 1;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  core_kernels::table().sum.run(x.device(), {.x = &x, .out = &out, .outer = A, .reduced = R, .inner = C});
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, std::span<const int> axes_in, bool keepdim) {
  detail::check_floating("sum", "x", x);
  const std::vector<int> axes = normalized_axes("sum", axes_in, x.rank());
  if (axes.empty()) return x.clone();
  // Reduce each run of adjacent axes, last run first, on a keepdim-shaped intermediate.
  Tensor acc = x.detach().contiguous();
  for (int end = int(axes.size()) - 1; end >= 0;) {
    int begin = end;
    while (begin > 0 && axes[std::size_t(begin - 1)] == axes[std::size_t(begin)] - 1) --begin;
    acc = sum_run(acc, axes[std::size_t(begin)], axes[std::size_t(end)]);
    end = begin - 1;
  }
  Shape kept_shape = acc.shape();
  if (!keepdim) {
    Shape squeezed;
    for (int i = 0; i < x.rank(); ++i)
      if (!std::binary_search(axes.begin(), axes.end(), i)) squeezed.push_back(x.shape()[i]);
    acc = detail::make_view(acc, squeezed, contiguous_strides(squeezed), 0);
  }
  autograd::record("sum", {x}, {acc}, [from = x.shape(), kept_shape](const autograd::BackwardArgs& a) {
    return std::vector<Tensor>{expand(reshape(a.grad(), kept_shape), from)};
  });
  return acc;
}

Tensor sum(const Tensor& x, std::initializer_list<int> axes, bool keepdim) {
  return sum(x, std::span<const int>(axes.begin(), axes.size()), keepdim);
}

Tensor sum(const Tensor& x) {
  detail::check_defined("sum", "x", x);
  std::vector<int> all(std::size_t(x.rank()));
  for (int i = 0; i < x.rank(); ++i) all[std::size_t(i)] = i;
  if (all.empty()) return x.clone();
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, std::span<const int> axes, bool keepdim) {
  detail::check_floating("mean", "x", x);
  std::int64_t count = 1;
  for (int a : normalized_axes("mean", axes, x.rank())) count *= x.shape()[a];
  if (count == 0) throw ValueError("mean: reducing over " + x.shape().to_string() + " averages zero elements");
  return scale(sum(x, axes, keepdim), 1.0 / double(count));
}

Tensor mean(const Tensor& x, std::initializer_list<int> axes, bool keepdim) {
  return mean(x, std::span<const int>(axes.begin(), axes.size()), keepdim);
}

Tensor mean(const Tensor& x) {
  detail::check_floating("mean", "x", x);
  if (x.numel() == 0) throw ValueError("mean: the tensor " + x.shape().to_string() + " has no elements");
  return scale(sum(x), 1.0 / double(x.numel()));
}

bool all_finite(const Tensor& x) {
  detail::check_floating("all_finite", "x", x);
  const Tensor c = x.detach().to(Device::cpu()).contiguous();
  return dispatch_floating(c.dtype(), "all_finite", [&](auto zero) {
    using T = decltype(zero);
    const T* p = c.data<T>();
    for (std::int64_t i = 0; i < c.numel(); ++i)
      if (!std::isfinite(p[i])) return false;
    return true;
  });
}

}  // namespace strata
