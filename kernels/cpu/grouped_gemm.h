#pragma once
// Grouped matrix products for Mixture-of-Experts: rows of x sorted by group (expert), one
// product per group over its contiguous slice, with that group's weight. No padding:
// groups may have any number of rows, including none.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct GroupedGemmArgs {
  std::int64_t groups = 0, rows = 0, in = 0, out = 0;  // G, S, K, N
  const std::int64_t* offsets = nullptr;               // [G + 1], offsets[0] = 0, offsets[G] = S
  const T* x = nullptr;                                 // [S, K]
  const T* w = nullptr;                                 // [G, N, K] (Linear layout: out x in)
  T* y = nullptr;                                       // [S, N] forward output
  // backward
  const T* dy = nullptr;  // [S, N]
  T* dx = nullptr;        // [S, K] or null
  T* dw = nullptr;        // [G, N, K] or null (groups without rows get zeros)
};

// y[rows of g] = x[rows of g] w[g]^T
template <class T>
void grouped_gemm_fwd_cpu(const GroupedGemmArgs<T>& args);

// dx[rows of g] = dy[rows of g] w[g];  dw[g] = dy[rows of g]^T x[rows of g]
template <class T>
void grouped_gemm_bwd_cpu(const GroupedGemmArgs<T>& args);

}  // namespace strata::kernels::cpu
