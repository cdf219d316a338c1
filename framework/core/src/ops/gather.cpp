// gather and scatter_add along one axis (torch semantics), and top-k.
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

// index must have t's rank and fit inside t along every dim except `dim` (and along
// `dim` too when `including_dim`).
void check_index_fits(const char* op, const char* arg, const Tensor& index, const Tensor& t, int dim,
                      bool including_dim) {
  bool fits = index.rank() == t.rank();
  for (int d = 0; fits && d < t.rank(); ++d)
    if ((d != dim || including_dim) && index.shape()[d] > t.shape()[d]) fits = false;
  if (!fits)
    throw ShapeError(std::string(op) + ": index " + index.shape().to_string() + " does not fit " + arg + " " +
                         t.shape().to_string() + (including_dim ? "" : " outside dim " + std::to_string(dim)),
                     "index needs the same rank and sizes no larger than the tensor's");
}

// The leading-corner window of t with the given shape.
Tensor corner(const Tensor& t, const Shape& shape) {
  Tensor w = t;
  for (int d = 0; d < shape.rank(); ++d) w = slice(w, d, 0, shape[d]);
  return w;
}

}  // namespace

Tensor gather(const Tensor& x, int dim, const Tensor& index) {
  const char* op = "gather";
  detail::check_floating(op, "x", x);
  detail::check_index_tensor(op, "index", index);
  detail::common_device(op, {&x, &index});
  dim = normalize_dim(dim, x.rank(), op);
  check_index_fits(op, "x", index, x, dim, false);
  const Tensor ic = index.contiguous();
  detail::check_indices(op, "index", ic, x.shape()[dim]);
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
  core_kernels::table().gather.run(x.device(), {.dim = dim, .index = &ic, .src = &x, .dst = &out});
  autograd::record(op, {x}, {out}, [is = autograd::SavedTensor(ic), dim, from = x.shape()](const BackwardArgs& a) {
    return std::vector<Tensor>{scatter_add(Tensor::zeros(from, a.grad().dtype(), a.grad().device()), dim, is.get(), a.grad())};
  });
  return out;
}

Tensor scatter_add(const Tensor& base, int dim, const Tensor& index, const Tensor& src) {
  const char* op = "scatter_add";
  detail::check_accumulate_args(op, base, index, src);
  dim = normalize_dim(dim, base.rank(), op);
  check_index_fits(op, "base", index, base, dim, false);
  check_index_fits(op, "src", index, src, dim, true);
  const Tensor ic = index.contiguous();
  detail::check_indices(op, "index", ic, base.shape()[dim]);
  Tensor out = base.detach().clone();
  core_kernels::table().scatter_add.run(base.device(), {.dim = dim, .index = &ic, .src = &src, .dst = &out});
  autograd::record(op, {base, src}, {out},
                   [is = autograd::SavedTensor(ic), dim, src_shape = src.shape()](const BackwardArgs& a) {
                     Tensor dsrc;
                     if (a.needs(1)) {
                       // src elements outside the index's extent were never read: their gradient is 0
                       const Tensor picked = gather(a.grad(), dim, is.get());
                       if (picked.shape() == src_shape) {
                         dsrc = picked;
                       } else {
                         dsrc = Tensor::zeros(src_shape, picked.dtype(), picked.device());
                         Tensor window = corner(dsrc, picked.shape());
                         detail::strided_copy(picked, window);
                       }
                     }
                     return std::vector<Tensor>{a.needs(0) ? a.grad() : Tensor(), dsrc};
                   });
  return out;
}

TopK topk(const Tensor& x, std::int64_t k) {
  const char* op = "topk";
  detail::check_floating(op, "x", x);
  if (x.rank() < 1) throw ShapeError("topk: needs rank >= 1, got a scalar");
  const std::int64_t n = x.size(-1);
  if (k < 1 || k > n)
    throw ValueError("topk: k = " + std::to_string(k) + " is outside [1, " + std::to_string(n) + "] for x " +
                     x.shape().to_string());
  const Tensor xc = x.contiguous();
  const Shape out_shape = x.shape().with(-1, k);
  TopK result{Tensor::empty(out_shape, x.dtype(), x.device()), Tensor::empty(out_shape, DType::i64, x.device())};
  core_kernels::table().topk.run(x.device(), {.x = &xc,
                                              .values = &result.values,
                                              .indices = &result.indices,
                                              .rows = n ? x.numel() / n : 0,
                                              .cols = n,
                                              .k = k});
  autograd::record(
      op, {xc}, {result.values}, [is = autograd::SavedTensor(result.indices), from = x.shape()](const BackwardArgs& a) {
        return std::vector<Tensor>{scatter_add(Tensor::zeros(from, a.grad().dtype(), a.grad().device()), -1, is.get(), a.grad())};
      });
  return result;
}

}  // namespace strata
