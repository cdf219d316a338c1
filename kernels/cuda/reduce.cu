// Sum over the middle axis of [A, R, C] on CUDA: twin of kernels/cpu/reduce.cpp. Every
// sum accumulates in double (f32 too: the CPU joins its f32 blocks in f64, so results stay
// close) in an order fixed by the shape alone: no atomics, the same bits on every run and
// every GPU. A long reduction is split into chunks whose partial sums go to a workspace and
// are then added in chunk order by a second kernel.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

// How a [A, R, C] sum is split: R in `chunks` chunks of `chunk` rows (the last may be
// shorter); rows_kernel for C == 1 with long rows (one block per (a, chunk)), else
// columns_kernel (one thread per (chunk, a, c)).
struct SumPlan {
  bool by_rows = false;
  std::int64_t chunk = 1, chunks = 1;
};

constexpr std::int64_t kMinRowChunk = 8192;       // elements a block sums, at least
constexpr std::int64_t kRowBlocks = 1024;         // blocks to aim for (a few per SM)
constexpr std::int64_t kMinColumnChunk = 64;      // rows a thread sums, at least
constexpr std::int64_t kColumnThreads = 1 << 17;  // threads to aim for (fills an H100/H200)

// Depends on the shape only (not on the device), so results are the same on every GPU.
SumPlan plan_sum(std::int64_t A, std::int64_t R, std::int64_t C) {
  SumPlan p;
  p.by_rows = C == 1 && R >= kThreads;  // shorter rows: a thread per row, not a block with idle threads
  std::int64_t chunks = 1;
  if (p.by_rows) {
    chunks = std::max<std::int64_t>(1, std::min(ceil_div(R, kMinRowChunk), ceil_div(kRowBlocks, A)));
  } else {
    chunks = std::max<std::int64_t>(1, std::min(ceil_div(R, kMinColumnChunk), ceil_div(kColumnThreads, A * C)));
  }
  p.chunk = ceil_div(R, chunks);
  p.chunks = ceil_div(R, p.chunk);  // no empty chunk
  return p;
}

// x: [A, R] (C == 1). Block item = (a, k) sums x[a, k*chunk .. (k+1)*chunk) into out[a]
// (chunks == 1) or partial[a * chunks + k]. Each thread sums a fixed strided subset, then
// block_sum combines the threads in a fixed tree.
template <class T>
__global__ void rows_kernel(const T* x, T* out, double* partial, std::int64_t A, std::int64_t R, std::int64_t chunk,
                            std::int64_t chunks) {
  __shared__ double scratch[kWarp];
  for (std::int64_t item = blockIdx.x; item < A * chunks; item += gridDim.x) {
    const std::int64_t a = item / chunks, k = item % chunks;
    const std::int64_t begin = k * chunk, end = begin + chunk < R ? begin + chunk : R;
    const T* row = x + a * R;
    double acc = 0;
    for (std::int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) acc += double(row[r]);
    const double total = block_sum(acc, scratch);
    if (threadIdx.x == 0) {
      if (chunks == 1)
        out[a] = T(total);
      else
        partial[item] = total;
    }
  }
}

// x: [A, R, C]. Thread item = (k, a, c), c fastest (coalesced reads along C), sums
// x[a, k*chunk .. (k+1)*chunk, c] in order into out[a, c] (chunks == 1) or
// partial[k, a, c].
template <class T>
__global__ void columns_kernel(const T* x, T* out, double* partial, std::int64_t A, std::int64_t R, std::int64_t C,
                               std::int64_t chunk, std::int64_t chunks) {
  const std::int64_t outputs = A * C;
  for (std::int64_t item = global_index(); item < outputs * chunks; item += grid_size()) {
    const std::int64_t k = item / outputs, j = item % outputs;  // j = a * C + c
    const std::int64_t a = j / C, c = j % C;
    const std::int64_t begin = k * chunk, end = begin + chunk < R ? begin + chunk : R;
    const T* column = x + a * R * C + c;
    double acc = 0;
    for (std::int64_t r = begin; r < end; ++r) acc += double(column[r * C]);
    if (chunks == 1)
      out[j] = T(acc);
    else
      partial[item] = acc;
  }
}

// out[j] = sum over k of partial[j * j_stride + k * k_stride], k in order.
template <class T>
__global__ void join_kernel(const double* partial, T* out, std::int64_t outputs, std::int64_t chunks,
                            std::int64_t j_stride, std::int64_t k_stride) {
  for (std::int64_t j = global_index(); j < outputs; j += grid_size()) {
    double total = 0;
    for (std::int64_t k = 0; k < chunks; ++k) total += partial[j * j_stride + k * k_stride];
    out[j] = T(total);
  }
}

template <class T>
__global__ void zero_kernel(T* out, std::int64_t n) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) out[i] = T(0);
}

}  // namespace

std::int64_t sum_workspace_cuda(std::int64_t outer, std::int64_t reduced, std::int64_t inner) {
  if (outer * inner == 0 || reduced == 0) return 0;
  const SumPlan p = plan_sum(outer, reduced, inner);
  return p.chunks > 1 ? outer * inner * p.chunks : 0;
}

template <class T>
std::string sum_cuda(const SumArgs<T>& args, double* workspace, int device) {
  const std::int64_t A = args.outer, R = args.reduced, C = args.inner;
  if (A * C == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  if (R == 0) {
    zero_kernel<<<blocks_for(A * C), kThreads>>>(args.out, A * C);
    return launch_status();
  }
  const SumPlan p = plan_sum(A, R, C);
  if (p.chunks > 1 && workspace == nullptr) return "sum: no workspace for a split reduction";
  if (p.by_rows) {  // partial: [A, chunks]
    rows_kernel<<<blocks_for(A * p.chunks, 1), kThreads>>>(args.x, args.out, workspace, A, R, p.chunk, p.chunks);
    if (p.chunks > 1) join_kernel<<<blocks_for(A), kThreads>>>(workspace, args.out, A, p.chunks, p.chunks, 1);
  } else {  // partial: [chunks, A * C]
    columns_kernel<<<blocks_for(A * C * p.chunks), kThreads>>>(args.x, args.out, workspace, A, R, C, p.chunk,
                                                               p.chunks);
    if (p.chunks > 1) join_kernel<<<blocks_for(A * C), kThreads>>>(workspace, args.out, A * C, p.chunks, 1, A * C);
  }
  return launch_status();
}

template std::string sum_cuda<float>(const SumArgs<float>&, double*, int);
template std::string sum_cuda<double>(const SumArgs<double>&, double*, int);

}  // namespace strata::kernels::cuda
