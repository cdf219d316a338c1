#pragma once
// Shape manipulation. reshape (of contiguous data), transpose, permute, slice, expand,
// squeeze/unsqueeze return views sharing storage; concat copies; split returns views.
// All are differentiable.
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "strata/tensor.h"

namespace strata {

// One entry of `shape` may be -1 (inferred). Copies only when x is not contiguous.
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int dim0, int dim1);
Tensor permute(const Tensor& x, std::span<const int> dims);
// Elements start, start+step, ... < end along dim; negative start/end count from the
// end and are clamped to [0, size] like Python slices. step >= 1.
Tensor slice(const Tensor& x, int dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
// Broadcasts size-1 dims (and new leading dims) to `shape` without copying.
Tensor expand(const Tensor& x, const Shape& shape);
Tensor unsqueeze(const Tensor& x, int dim);
Tensor squeeze(const Tensor& x, int dim);  // dim must have size 1

// tensors: same shape except along dim -> concatenated along dim.
Tensor concat(std::span<const Tensor> tensors, int dim);
Tensor concat(std::initializer_list<Tensor> tensors, int dim);
// Splits along dim into pieces of the given sizes (must sum to x.size(dim)).
std::vector<Tensor> split(const Tensor& x, std::span<const std::int64_t> sizes, int dim);
std::vector<Tensor> split(const Tensor& x, std::initializer_list<std::int64_t> sizes, int dim);
// Splits along dim into `chunks` equal pieces (x.size(dim) must divide evenly).
std::vector<Tensor> chunk(const Tensor& x, int chunks, int dim);

}  // namespace strata
