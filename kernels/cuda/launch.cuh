#pragma once
// What every CUDA kernel file shares: block size, grid size for grid-stride loops, the
// launch status, and the 16-bit storage types. Kernels run on the current device's legacy
// default stream, in issue order, without synchronising: a fault shows up as the error
// of a later call (a copy to the host synchronises). Host wrappers return an error
// string, empty on success, so the framework raises its own DeviceError.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "kernels/cuda/runtime_errors.h"

namespace strata::kernels::cuda {

inline constexpr int kThreads = 256;  // threads per block of the elementwise kernels
inline constexpr int kWarp = 32;

// Blocks for a grid-stride loop over n items (capped: each thread then takes several).
inline unsigned blocks_for(std::int64_t n, int threads = kThreads) {
  const std::int64_t blocks = (n + threads - 1) / threads;
  return unsigned(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

// Launch shape of the row kernels (one block reduces one row; blocks loop over the rows,
//   for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) ...):
// a warp for short rows, doubling up to 1024 threads while each keeps 4+ columns.
inline int row_threads(std::int64_t cols) {
  int threads = kWarp;
  while (threads < 1024 && std::int64_t(threads) * 4 < cols) threads *= 2;
  return threads;
}
inline unsigned row_blocks(std::int64_t rows) { return blocks_for(rows, 1); }

// a / b rounded up (b > 0).
__host__ __device__ inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
// Threads of a block with a thread per item (a state row or column): n rounded up to warps.
inline int warp_multiple(std::int64_t n) { return int(ceil_div(n, kWarp) * kWarp); }

// Whether a packed document begins at step t > 0 of batch row b (seq_start: [B, T], the
// first step of each step's document, or null): the recurrences restart from zero there.
__device__ inline bool document_starts_at(const std::int64_t* seq_start, std::int64_t b, std::int64_t T,
                                          std::int64_t t) {
  return seq_start && t > 0 && seq_start[b * T + t] == t;
}

// The index of this thread in a 1-D grid, and the grid's size, for grid-stride loops:
//   for (std::int64_t i = global_index(); i < n; i += grid_size()) ...
__device__ inline std::int64_t global_index() { return std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline std::int64_t grid_size() { return std::int64_t(blockDim.x) * gridDim.x; }

// Makes `device` current (kernels launch on the current device). A failure is also the
// runtime's last error: taken here, so that the next launch_status() does not report it.
inline std::string use_device(int device) { return take_error(cudaSetDevice(device)); }
// The status of the launches just issued (configuration errors; faults surface later).
inline std::string launch_status() { return describe(cudaGetLastError()); }

// Lets `kernel` launch with `bytes` of dynamic shared memory (past 48 KiB needs opt-in);
// on a GPU whose opt-in limit is below `bytes`, an error saying so.
template <class Kernel>
std::string allow_shared_memory(Kernel kernel, std::size_t bytes) {
  if (bytes <= 48 * 1024) return {};
  const std::string e =
      take_error(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  if (e.empty()) return {};
  return e + " (the kernel needs " + std::to_string((bytes + 1023) / 1024) +
         " KiB of shared memory per block, more than this GPU allows)";
}

// f(std::integral_constant<int, kMax>{}) for the smallest per-thread register array that
// holds n values: 32, 64 or 128 for f32; 128 for f64 (fewer instantiations of the slower,
// test-only type). The gated delta rule's kernels keep a state column there.
template <class T, class F>
std::string with_state_bound(std::int64_t n, F&& f) {
  if constexpr (sizeof(T) == 4) {
    if (n <= 32) return f(std::integral_constant<int, 32>{});
    if (n <= 64) return f(std::integral_constant<int, 64>{});
  }
  return f(std::integral_constant<int, 128>{});
}

// Sum / max over a warp with shuffles (every lane gets the result).
template <class T>
__device__ inline T warp_sum(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
template <class T>
__device__ inline T warp_max(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const T other = __shfl_xor_sync(0xffffffffu, v, offset);
    v = other > v ? other : v;
  }
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. `scratch` is __shared__ T[32]; the call synchronises the block.
template <class T>
__device__ inline T block_sum(T v, T* scratch) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : T(0);
  return warp_sum(v);
}
template <class T>
__device__ inline T block_max(T v, T* scratch) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : scratch[0];
  return warp_max(v);
}

}  // namespace strata::kernels::cuda
