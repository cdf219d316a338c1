#pragma once
// Strided copy with dtype conversion (contiguous(), clone(), to(dtype), copy_, concat,
// expand materialisation) and fill.
#include <cstdint>

#include "strata/half.h"

#include "kernels/cpu/strided.h"

namespace strata::kernels::cpu {

template <class Src, class Dst>
struct CopyArgs {
  const Src* src = nullptr;
  Dst* dst = nullptr;
  int rank = 0;
  std::int64_t sizes[kMaxDims] = {};        // shape of the copied region
  std::int64_t src_strides[kMaxDims] = {};  // elements; 0 broadcasts
  std::int64_t dst_strides[kMaxDims] = {};  // elements
};

// dst[i] = Dst(src[i]) over the region. Src, Dst in {float, double, int64_t, bfloat16, float16}
// (16-bit types convert through float, rounding to nearest even).
template <class Src, class Dst>
void copy_cpu(const CopyArgs<Src, Dst>& args);

// dst[0..n) = value
template <class T>
void fill_cpu(T* dst, std::int64_t n, T value);

}  // namespace strata::kernels::cpu
