#pragma once
// Range checks for index tensors: a bad index names the op, the argument, the position
// and the value, instead of reading or writing out of bounds.
#include <string_view>

#include "strata/tensor.h"

namespace strata::detail {

// The common checks of accumulating ops (index_add, scatter_add): floating base and src of
// one dtype, an i64 index, all on one device with a kernel.
void check_accumulate_args(std::string_view op, const Tensor& base, const Tensor& index, const Tensor& src);

// Every element of `index` (contiguous i64) must lie in [0, limit).
void check_indices(std::string_view op, std::string_view arg, const Tensor& index, std::int64_t limit);

}  // namespace strata::detail
