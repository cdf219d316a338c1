#pragma once
// Row selection along one axis of a [outer, n, inner] view (embedding lookup, MoE token
// gather) and its adjoint, row accumulation (embedding gradient, MoE combine).
// Indices are validated by the caller.
#include <cstdint>

#include "strata/half.h"

namespace strata::kernels::cpu {

template <class T>
struct IndexSelectArgs {
  std::int64_t outer = 1, n = 0, inner = 1;  // src/dst is [outer, n, inner]
  const std::int64_t* index = nullptr;       // [m], values in [0, n)
  std::int64_t m = 0;
  const T* src = nullptr;  // select: [outer, n, inner];  add: [outer, m, inner]
  T* dst = nullptr;        // select: [outer, m, inner];  add: [outer, n, inner], accumulated into
};

// dst[o, j, :] = src[o, index[j], :]
template <class T>
void index_select_cpu(const IndexSelectArgs<T>& args);
// dst[o, index[j], :] += src[o, j, :]; repeated indices accumulate in order of j
// (deterministic: threads split o and the inner columns, never j).
template <class T>
void index_add_cpu(const IndexSelectArgs<T>& args);

}  // namespace strata::kernels::cpu
