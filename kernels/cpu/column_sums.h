#pragma once
// A pass over the rows of a matrix that also sums per-row contributions down the columns
// (bias and norm-weight gradients, column sums). Rows are grouped in blocks whose size
// depends only on the shape; each block accumulates into its own partial rows in T, and
// the partials are joined in block order in f64. So the sums are bitwise the same for any
// thread count, and f32 rounding error grows with the block size, not the row count.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

// fn(row, acc) handles one row; acc[j] points at `cols` accumulators of output j, or is
// null when out[j] is null (that sum is not wanted). Afterwards out[j][c] = sum over rows
// of what fn added to acc[j][c]. With every output null this is a plain row loop.
template <class T, int Outputs, class RowFn>
void rows_with_column_sums(std::int64_t rows, std::int64_t cols, RowFn fn, std::array<T*, Outputs> out) {
  bool any = false;
  for (T* o : out) any = any || o != nullptr;
  if (!any) {
    const std::array<T*, Outputs> none{};
    parallel_rows(rows, cols, [&](std::int64_t r) { fn(r, none); });
    return;
  }
  constexpr std::int64_t kMaxBlocks = 256;
  const std::int64_t block = std::max<std::int64_t>(64, (rows + kMaxBlocks - 1) / kMaxBlocks);
  const std::int64_t blocks = fixed_blocks(rows, block);
  std::vector<T> partial(std::size_t(blocks * Outputs * cols), T(0));
  const std::int64_t grain = std::max<std::int64_t>(1, (1 << 15) / std::max<std::int64_t>(block * cols, 1));
  parallel_for(blocks, grain, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      std::array<T*, Outputs> acc;
      for (int j = 0; j < Outputs; ++j) acc[j] = out[j] ? partial.data() + (b * Outputs + j) * cols : nullptr;
      const std::int64_t r_end = std::min(rows, (b + 1) * block);
      for (std::int64_t r = b * block; r < r_end; ++r) fn(r, acc);
    }
  });
  parallel_for(cols, 1 << 12, [&](std::int64_t c0, std::int64_t c1) {
    for (int j = 0; j < Outputs; ++j) {
      if (!out[j]) continue;
      for (std::int64_t c = c0; c < c1; ++c) {
        double total = 0;
        for (std::int64_t b = 0; b < blocks; ++b) total += double(partial[std::size_t((b * Outputs + j) * cols + c)]);
        out[j][c] = T(total);
      }
    }
  });
}

}  // namespace strata::kernels::cpu
