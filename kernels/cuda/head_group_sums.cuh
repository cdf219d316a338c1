#pragma once
// The last step of the gated delta rule's backward: the per-head terms of an input that a
// group of heads shares (Gated DeltaNet's q and k) summed over the heads of each group, in
// head order, so the result repeats bit for bit.
#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

// out[j] = sum over the rows i of m[i * stride + j] ([rows, width] in shared memory, rows
// `stride` apart), in row order, by the whole block: one per-head workspace row of a step's
// terms.
template <class T>
__device__ inline void block_column_sums(const T* m, std::int64_t rows, std::int64_t width, std::int64_t stride,
                                         T* out) {
  for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
    T sum = T(0);
    for (std::int64_t i = 0; i < rows; ++i) sum += m[i * stride + j];
    out[j] = sum;
  }
}

// out[b, t, g, j] = sum over the heads / groups heads h of group g of ws[b, h, t, j], for
// two workspaces ws1, ws2 [B, H, T, width] at once; a null output is skipped.
template <class T>
__global__ void head_group_sums_kernel(const T* ws1, const T* ws2, std::int64_t batch, std::int64_t heads,
                                       std::int64_t seq_len, std::int64_t groups, std::int64_t width, T* out1,
                                       T* out2) {
  const std::int64_t per_group = heads / groups, total = batch * seq_len * groups * width;
  for (std::int64_t i = global_index(); i < total; i += grid_size()) {
    const std::int64_t j = i % width, g = (i / width) % groups, t = (i / (width * groups)) % seq_len,
                       b = i / (width * groups * seq_len);
    T s1 = T(0), s2 = T(0);
    for (std::int64_t h = g * per_group; h < (g + 1) * per_group; ++h) {
      s1 += ws1[((b * heads + h) * seq_len + t) * width + j];
      s2 += ws2[((b * heads + h) * seq_len + t) * width + j];
    }
    if (out1) out1[i] = s1;
    if (out2) out2[i] = s2;
  }
}

}  // namespace strata::kernels::cuda
