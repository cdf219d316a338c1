#pragma once
// Index-based ops. Index tensors are i64 and carry no gradient; every index is
// range-checked and a bad one raises ValueError naming the op, position and value.
#include <cstdint>

#include "strata/tensor.h"

namespace strata {

// weight: [V, D], ids: [...] i64 in [0, V) -> [..., D]
Tensor embedding(const Tensor& weight, const Tensor& ids);

// x: [..., n, ...], index: [m] i64 -> x with dim replaced by m (rows picked by index)
Tensor index_select(const Tensor& x, int dim, const Tensor& index);

// base: [..., n, ...], index: [m] i64, src: base with dim replaced by m ->
// base + src rows added at the positions in index (repeats accumulate).
Tensor index_add(const Tensor& base, int dim, const Tensor& index, const Tensor& src);

// x and index of the same rank; index.size(d) <= x.size(d) for d != dim ->
// out[i][j][k] = x[i][index[i][j][k]][k] (for dim = 1), shape of index. (torch.gather)
Tensor gather(const Tensor& x, int dim, const Tensor& index);

// base, index, src of the same rank, index.shape <= src.shape elementwise ->
// base with src[i][j][k] added at [i][index[i][j][k]][k] (for dim = 1). (torch.scatter_add)
Tensor scatter_add(const Tensor& base, int dim, const Tensor& index, const Tensor& src);

struct TopK {
  Tensor values;   // [..., k], descending
  Tensor indices;  // [..., k] i64; among equal values the lower index comes first
};
// The k largest entries along the last axis of x: [..., n], 1 <= k <= n.
// values is differentiable; indices carry no gradient.
TopK topk(const Tensor& x, std::int64_t k);

}  // namespace strata
