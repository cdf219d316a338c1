#pragma once
// The k largest entries of each row, sorted descending; ties go to the lower index and
// NaN counts as larger than any number (as torch.topk), so the result is deterministic.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct TopKArgs {
  std::int64_t rows = 0, cols = 0, k = 0;
  const T* x = nullptr;             // [rows, cols]
  T* values = nullptr;              // [rows, k]
  std::int64_t* indices = nullptr;  // [rows, k]
};

template <class T>
void topk_cpu(const TopKArgs<T>& args);

}  // namespace strata::kernels::cpu
