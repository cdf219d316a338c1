// gather / scatter_add along one axis with general strides on a CUDA device (twins of
// kernels/cpu/gather.cpp). The iteration space is the index tensor's shape; one thread per
// index element.
#include "kernels/cuda/indexing.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

// The element offset, in a tensor of `strides`, of index element i (row-major in `sizes`)
// with its coordinate along `dim` replaced by `at` (dim -1: none replaced). The loop runs over the fixed maximum
// rank so that the arrays are indexed by constants (they stay in registers / parameters).
__device__ inline std::int64_t offset_of(std::int64_t i, std::int64_t at, int rank, int dim,
                                         const std::int64_t (&sizes)[kGatherMaxDims],
                                         const std::int64_t (&strides)[kGatherMaxDims]) {
  std::int64_t offset = 0;
#pragma unroll
  for (int d = kGatherMaxDims - 1; d >= 0; --d) {
    if (d >= rank) continue;
    const std::int64_t coord = i % sizes[d];
    i /= sizes[d];
    offset += (d == dim ? at : coord) * strides[d];
  }
  return offset;
}

// out[i] = x[i with dim replaced by index[i]]; out and index contiguous in `sizes`.
template <class T>
__global__ void gather_kernel(const GatherArgs<T> a, std::int64_t total) {
  for (std::int64_t i = global_index(); i < total; i += grid_size())
    a.out[i] = a.x[offset_of(i, a.index[i], a.rank, a.dim, a.sizes, a.x_strides)];
}

// dst[i with dim replaced by index[i]] += src[i]. atomicAdd because index entries that
// differ only along `dim` may name the same destination (nondeterministic rounding order
// for such repeats; f64 atomicAdd needs sm_60+).
template <class T>
__global__ void scatter_add_kernel(const GatherArgs<T> a, std::int64_t total) {
  for (std::int64_t i = global_index(); i < total; i += grid_size()) {
    const T v = a.src[offset_of(i, 0, a.rank, /*dim=*/-1, a.sizes, a.src_strides)];
    atomicAdd(a.dst + offset_of(i, a.index[i], a.rank, a.dim, a.sizes, a.dst_strides), v);
  }
}

template <class T>
std::string check_space(const GatherArgs<T>& a, std::int64_t* total) {
  if (a.rank < 1 || a.rank > kGatherMaxDims || a.dim < 0 || a.dim >= a.rank)
    return "rank " + std::to_string(a.rank) + ", dim " + std::to_string(a.dim) + " outside rank 1.." +
           std::to_string(kGatherMaxDims);
  *total = 1;
  for (int d = 0; d < a.rank; ++d) *total *= a.sizes[d];
  return {};
}

}  // namespace

template <class T>
std::string gather_cuda(const GatherArgs<T>& a, int device) {
  std::int64_t total = 0;
  if (auto e = check_space(a, &total); !e.empty()) return e;
  if (total == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  gather_kernel<T><<<blocks_for(total), kThreads>>>(a, total);
  return launch_status();
}

template <class T>
std::string scatter_add_cuda(const GatherArgs<T>& a, int device) {
  std::int64_t total = 0;
  if (auto e = check_space(a, &total); !e.empty()) return e;
  if (total == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  scatter_add_kernel<T><<<blocks_for(total), kThreads>>>(a, total);
  return launch_status();
}

template std::string gather_cuda<float>(const GatherArgs<float>&, int);
template std::string gather_cuda<double>(const GatherArgs<double>&, int);
template std::string scatter_add_cuda<float>(const GatherArgs<float>&, int);
template std::string scatter_add_cuda<double>(const GatherArgs<double>&, int);

}  // namespace strata::kernels::cuda
