#pragma once
// Strided index spaces of the CUDA copy and broadcasting kernels: the host coalesces the
// dims as the CPU kernels do (kernels/cpu/strided.h: size-1 dims dropped, dims contiguous
// in every operand merged), then each thread maps its flat index, row-major over the
// coalesced sizes, to every operand's element offset.
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/strided.h"
#include "kernels/cuda/elementwise.h"

namespace strata::kernels::cuda {

static_assert(kMaxDims == cpu::kMaxDims, "the CUDA and CPU strided kernels take the same ranks");

// Coalesced sizes (rank >= 1) and the element strides of N operands (N <= 3) over them.
template <int N>
struct StridedIndex {
  int rank = 1;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t strides[N][kMaxDims] = {};
};

// strides[o] are operand o's strides over sizes[0..rank).
template <int N>
inline StridedIndex<N> make_strided_index(int rank, const std::int64_t* sizes, const std::int64_t* const* strides) {
  static_assert(N >= 1 && N <= 3, "cpu::StridedSpace holds three operands");
  cpu::StridedSpace space;
  space.rank = rank;
  for (int d = 0; d < rank; ++d) {
    space.sizes[std::size_t(d)] = sizes[d];
    for (int o = 0; o < N; ++o) space.strides[std::size_t(o)][std::size_t(d)] = strides[o][d];
  }
  const cpu::StridedSpace s = cpu::coalesce(space, N);
  StridedIndex<N> out;
  out.rank = s.rank;
  for (int d = 0; d < s.rank; ++d) {
    out.sizes[d] = s.sizes[std::size_t(d)];
    for (int o = 0; o < N; ++o) out.strides[o][d] = s.strides[std::size_t(o)][std::size_t(d)];
  }
  return out;
}

// True when every operand walks the flat index with unit stride (one dense run).
template <int N>
inline bool is_dense(const StridedIndex<N>& s) {
  bool dense = s.rank == 1;
  for (int o = 0; o < N; ++o) dense = dense && s.strides[o][0] == 1;
  return dense;
}

// Element offsets in every operand of the flat index i (0 <= i < product of sizes).
template <int N>
__device__ inline void strided_offsets(const StridedIndex<N>& s, std::int64_t i, std::int64_t (&offset)[N]) {
#pragma unroll
  for (int o = 0; o < N; ++o) offset[o] = 0;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d >= s.rank) continue;
    std::int64_t coord = i;  // the outermost dim takes what is left
    if (d > 0) {
      coord = i % s.sizes[d];
      i /= s.sizes[d];
    }
#pragma unroll
    for (int o = 0; o < N; ++o) offset[o] += coord * s.strides[o][d];
  }
}

}  // namespace strata::kernels::cuda
