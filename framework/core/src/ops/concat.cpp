// concat (copies into one tensor) and split/chunk (views).
#include <numeric>
#include <vector>

#include "strata/autograd.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

Tensor concat(std::span<const Tensor> tensors, int dim) {
  if (tensors.empty()) throw ValueError("concat: no tensors given");
  const Tensor& first = tensors[0];
  for (std::size_t i = 0; i < tensors.size(); ++i)
    detail::check_defined("concat", "tensors[" + std::to_string(i) + "]", tensors[i]);
  dim = normalize_dim(dim, first.rank(), "concat");
  std::int64_t total = 0;
  std::vector<std::int64_t> sizes;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.device() != first.device())
      throw DeviceError("concat: tensors[" + std::to_string(i) + "] is on " + t.device().to_string() +
                        ", tensors[0] on " + first.device().to_string());
    if (t.dtype() != first.dtype())
      throw DTypeError("concat: tensors[" + std::to_string(i) + "] is " + std::string(dtype_name(t.dtype())) +
                       ", tensors[0] is " + std::string(dtype_name(first.dtype())));
    if (t.rank() != first.rank() || t.shape().with(dim, 0) != first.shape().with(dim, 0))
      throw ShapeError("concat: tensors[" + std::to_string(i) + "] " + t.shape().to_string() +
                           " does not match tensors[0] " + first.shape().to_string() + " outside dim " +
                           std::to_string(dim),
                       "all tensors must have the same shape except along the concatenated dim");
    sizes.push_back(t.shape()[dim]);
    total += t.shape()[dim];
  }
  Tensor out = Tensor::empty(first.shape().with(dim, total), first.dtype(), first.device());
  std::int64_t start = 0;
  for (const Tensor& t : tensors) {
    Tensor window = out.detach().slice(dim, start, start + t.shape()[dim]);
    detail::strided_copy(t, window);
    start += t.shape()[dim];
  }
  if (is_floating(first.dtype())) {
    autograd::record("concat", tensors, std::span<Tensor>(&out, 1),
                     [sizes, dim](const autograd::BackwardArgs& a) { return split(a.grad(), sizes, dim); });
  }
  return out;
}

Tensor concat(std::initializer_list<Tensor> tensors, int dim) {
  return concat(std::span<const Tensor>(tensors.begin(), tensors.size()), dim);
}

std::vector<Tensor> split(const Tensor& x, std::span<const std::int64_t> sizes, int dim) {
  detail::check_defined("split", "x", x);
  dim = normalize_dim(dim, x.rank(), "split");
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    if (s < 0) throw ValueError("split: negative size " + std::to_string(s));
    total += s;
  }
  if (total != x.shape()[dim])
    throw ShapeError("split: sizes sum to " + std::to_string(total) + " but dim " + std::to_string(dim) + " of " +
                     x.shape().to_string() + " has size " + std::to_string(x.shape()[dim]));
  // One node for all pieces: the backward is a single concat of their gradients.
  std::vector<Tensor> out;
  std::int64_t start = 0;
  for (std::int64_t s : sizes) {
    out.push_back(detail::make_view(x, x.shape().with(dim, s), x.strides(), x.offset() + start * x.strides()[dim]));
    start += s;
  }
  if (is_floating(x.dtype())) {
    autograd::record("split", std::span<const Tensor>(&x, 1), std::span<Tensor>(out),
                     [dim](const autograd::BackwardArgs& a) { return std::vector<Tensor>{concat(a.grads, dim)}; });
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, std::initializer_list<std::int64_t> sizes, int dim) {
  return split(x, std::span<const std::int64_t>(sizes.begin(), sizes.size()), dim);
}

std::vector<Tensor> chunk(const Tensor& x, int chunks, int dim) {
  detail::check_defined("chunk", "x", x);
  dim = normalize_dim(dim, x.rank(), "chunk");
  if (chunks < 1 || x.shape()[dim] % chunks != 0)
    throw ShapeError("chunk: dim " + std::to_string(dim) + " of " + x.shape().to_string() + " does not divide into " +
                     std::to_string(chunks) + " equal chunks");
  std::vector<std::int64_t> sizes(std::size_t(chunks), x.shape()[dim] / chunks);
  return split(x, sizes, dim);
}

}  // namespace strata
