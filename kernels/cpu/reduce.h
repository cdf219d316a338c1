#pragma once
// Sum over the middle axis of a [A, R, C] view: every reduction over a set of adjacent
// axes has this form (A = product of the dims before them, C = product after).
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct SumArgs {
  const T* x = nullptr;                            // [A, R, C] contiguous
  T* out = nullptr;                                // [A, C]
  std::int64_t outer = 1, reduced = 1, inner = 1;  // A, R, C
};

// Accumulates f32 in blocks combined in f64, and splits work into blocks whose size does
// not depend on the thread count, so results are bitwise identical for any thread count.
template <class T>
void sum_cpu(const SumArgs<T>& args);

}  // namespace strata::kernels::cpu
