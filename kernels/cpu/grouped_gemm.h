#pragma once
// Grouped matrix products for Mixture-of-Experts: rows of x sorted by group (expert), one
// product per group over its contiguous slice, with that group's weight. No padding:
// groups may have any number of rows, including none.
#include <cstdint>

#include "strata/half.h"

namespace strata::kernels::cpu {

// T: the operands x, w, dy; Acc: the results y, dx, dw (f32 for bf16 operands).
template <class T, class Acc = T>
struct GroupedGemmArgs {
  std::int64_t groups = 0, rows = 0, in = 0, out = 0;  // G, S, K, N
  const std::int64_t* offsets = nullptr;               // [G + 1], offsets[0] = 0, offsets[G] = S
  const T* x = nullptr;                                 // [S, K]
  const T* w = nullptr;                                 // [G, N, K] (Linear layout: out x in)
  Acc* y = nullptr;                                     // [S, N] forward output
  // backward
  const T* dy = nullptr;  // [S, N]
  Acc* dx = nullptr;      // [S, K] or null
  Acc* dw = nullptr;      // [G, N, K] or null (groups without rows get zeros)
};

// y[rows of g] = x[rows of g] w[g]^T
template <class T, class Acc>
void grouped_gemm_fwd_cpu(const GroupedGemmArgs<T, Acc>& args);

// dx[rows of g] = dy[rows of g] w[g];  dw[g] = dy[rows of g]^T x[rows of g]
template <class T, class Acc>
void grouped_gemm_bwd_cpu(const GroupedGemmArgs<T, Acc>& args);

}  // namespace strata::kernels::cpu
