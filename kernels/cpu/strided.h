#pragma once
// Strided iteration helpers shared by the copy and broadcasting kernels.
#include <array>
#include <cstdint>

namespace strata::kernels::cpu {

inline constexpr int kMaxDims = 5;

// sizes plus the strides (in elements) of up to three operands over the same index space.
struct StridedSpace {
  int rank = 0;
  std::array<std::int64_t, kMaxDims> sizes{};
  std::array<std::array<std::int64_t, kMaxDims>, 3> strides{};  // [operand][dim]
};

// Drops size-1 dims and merges neighbouring dims that are contiguous with each other in
// every operand, so that e.g. a contiguous [B, T, D] + [B, T, D] becomes one flat loop
// and [B, T, D] + [D] becomes [B*T, D]. The innermost remaining dim is the fast loop.
inline StridedSpace coalesce(StridedSpace s, int operands) {
  StridedSpace out;
  for (int d = 0; d < s.rank; ++d) {
    if (s.sizes[d] == 1) continue;
    if (out.rank > 0) {
      const int last = out.rank - 1;
      bool mergeable = true;
      for (int o = 0; o < operands; ++o) mergeable = mergeable && out.strides[o][last] == s.strides[o][d] * s.sizes[d];
      if (mergeable) {
        out.sizes[last] *= s.sizes[d];
        for (int o = 0; o < operands; ++o) out.strides[o][last] = s.strides[o][d];
        continue;
      }
    }
    out.sizes[out.rank] = s.sizes[d];
    for (int o = 0; o < operands; ++o) out.strides[o][out.rank] = s.strides[o][d];
    ++out.rank;
  }
  if (out.rank == 0) {  // a single element
    out.rank = 1;
    out.sizes[0] = 1;
    for (int o = 0; o < operands; ++o) out.strides[o][0] = 1;
  }
  return out;
}

// Element offset of each operand for the row (all dims but the last) numbered `row`.
template <int Operands>
inline std::array<std::int64_t, Operands> row_offsets(const StridedSpace& s, std::int64_t row) {
  std::array<std::int64_t, Operands> off{};
  for (int d = s.rank - 2; d >= 0; --d) {
    const std::int64_t i = row % s.sizes[d];
    row /= s.sizes[d];
    for (int o = 0; o < Operands; ++o) off[o] += i * s.strides[o][d];
  }
  return off;
}

}  // namespace strata::kernels::cpu
