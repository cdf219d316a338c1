// The k largest entries of each row on a CUDA device (twin of kernels/cpu/topk.cpp).
#include "kernels/cuda/indexing.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

constexpr int kRowsPerBlock = kThreads / kWarp;  // one warp per row

// topk_cpu's strict total order: NaN first, then larger values, then the lower index.
// Element (vi, i) comes before (vj, j). Indices are distinct, so this is a total order.
template <class T>
__device__ inline bool before(T vi, std::int64_t i, T vj, std::int64_t j) {
  const bool ni = isnan(vi), nj = isnan(vj);
  if (ni != nj) return ni;
  if (!ni && vi != vj) return vi > vj;
  return i < j;
}

// x: [rows, cols] -> values, indices: [rows, k]. One warp per row runs k rounds; round r
// picks the first element (in the order above) that comes after round r-1's pick, which
// is the r-th element of the sorted row: no marks needed for the elements already taken.
// Each lane scans a strided part of the row, then the warp reduces the lanes' candidates
// with the same order. O(k * cols / 32) per row: meant for small k (MoE routers, sampling).
template <class T>
__global__ void topk_kernel(const T* __restrict__ x, T* __restrict__ values, std::int64_t* __restrict__ indices,
                            std::int64_t rows, std::int64_t cols, std::int64_t k) {
  const int lane = threadIdx.x % kWarp;
  const std::int64_t warps = std::int64_t(gridDim.x) * kRowsPerBlock;
  // row is the same across a warp, so every lane stays in the loop (full-mask shuffles)
  for (std::int64_t row = std::int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp; row < rows; row += warps) {
    const T* xr = x + row * cols;
    T prev_v = T(0);
    long long prev = -1;  // the previous pick, -1 before the first round
    for (std::int64_t r = 0; r < k; ++r) {
      T best_v = T(0);
      long long best = -1;  // -1: this lane has no candidate
      for (std::int64_t i = lane; i < cols; i += kWarp) {
        const T v = xr[i];
        if (prev >= 0 && !before(prev_v, prev, v, i)) continue;  // taken in an earlier round
        if (best < 0 || before(v, i, best_v, best)) {
          best_v = v;
          best = i;
        }
      }
      for (int offset = kWarp / 2; offset > 0; offset /= 2) {
        const T other_v = __shfl_xor_sync(0xffffffffu, best_v, offset);
        const long long other = __shfl_xor_sync(0xffffffffu, best, offset);
        if (other >= 0 && (best < 0 || before(other_v, other, best_v, best))) {
          best_v = other_v;
          best = other;
        }
      }
      // every lane holds the same pick; k <= cols guarantees one exists
      if (lane == 0) {
        values[row * k + r] = best_v;
        indices[row * k + r] = best;
      }
      prev_v = best_v;
      prev = best;
    }
  }
}

}  // namespace

template <class T>
std::string topk_cuda(const TopKArgs<T>& a, int device) {
  if (a.rows == 0 || a.k == 0) return {};
  if (a.k > a.cols) return "k = " + std::to_string(a.k) + " exceeds the row length " + std::to_string(a.cols);
  if (auto e = use_device(device); !e.empty()) return e;
  const std::int64_t blocks = (a.rows + kRowsPerBlock - 1) / kRowsPerBlock;
  topk_kernel<T><<<unsigned(blocks < 65535 ? blocks : 65535), kThreads>>>(a.x, a.values, a.indices, a.rows, a.cols,
                                                                          a.k);
  return launch_status();
}

template std::string topk_cuda<float>(const TopKArgs<float>&, int);
template std::string topk_cuda<double>(const TopKArgs<double>&, int);

}  // namespace strata::kernels::cuda
