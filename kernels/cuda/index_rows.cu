// index_select / index_add on a CUDA device (twins of kernels/cpu/index_select.cpp).
#include "kernels/cuda/indexing.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

// dst[o, j, c] = src[o, index[j], c] in units U of `units` per row: src [outer, n, units],
// dst [outer, m, units]. One thread per destination unit, so the copy of a row is
// coalesced on both sides.
template <class U>
__global__ void index_select_kernel(const U* __restrict__ src, U* __restrict__ dst,
                                    const std::int64_t* __restrict__ index, std::int64_t outer, std::int64_t n,
                                    std::int64_t m, std::int64_t units) {
  const std::int64_t total = outer * m * units;
  for (std::int64_t e = global_index(); e < total; e += grid_size()) {
    const std::int64_t c = e % units, r = e / units;
    const std::int64_t j = r % m, o = r / m;
    dst[e] = src[(o * n + index[j]) * units + c];
  }
}

template <class U>
std::string launch_select(const IndexRowsArgs<void>& a, std::int64_t units) {
  const std::int64_t total = a.outer * a.m * units;
  index_select_kernel<U><<<blocks_for(total), kThreads>>>(static_cast<const U*>(a.src), static_cast<U*>(a.dst),
                                                          a.index, a.outer, a.n, a.m, units);
  return launch_status();
}

// The widest copy unit (16, 8, 4, 2 or 1 bytes) that divides a row and aligns both tensors.
std::size_t copy_unit(std::size_t row_bytes, const void* src, const void* dst) {
  const auto s = reinterpret_cast<std::uintptr_t>(src), d = reinterpret_cast<std::uintptr_t>(dst);
  for (std::size_t w = 16; w > 1; w /= 2)
    if (row_bytes % w == 0 && s % w == 0 && d % w == 0) return w;
  return 1;
}

// dst[o, index[j], c] += src[o, j, c]: src [outer, m, inner], dst [outer, n, inner].
// atomicAdd because two j with the same index write the same row (nondeterministic
// rounding order for repeated indices; f64 atomicAdd needs sm_60+).
template <class T>
__global__ void index_add_kernel(const T* __restrict__ src, T* dst, const std::int64_t* __restrict__ index,
                                 std::int64_t outer, std::int64_t n, std::int64_t m, std::int64_t inner) {
  const std::int64_t total = outer * m * inner;
  for (std::int64_t e = global_index(); e < total; e += grid_size()) {
    const std::int64_t c = e % inner, r = e / inner;
    const std::int64_t j = r % m, o = r / m;
    atomicAdd(dst + (o * n + index[j]) * inner + c, src[e]);
  }
}

}  // namespace

std::string index_select_cuda(const IndexRowsArgs<void>& a, std::size_t element_size, int device) {
  if (a.outer == 0 || a.m == 0 || a.inner == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  const std::size_t row_bytes = std::size_t(a.inner) * element_size;
  const std::size_t unit = copy_unit(row_bytes, a.src, a.dst);
  const std::int64_t units = std::int64_t(row_bytes / unit);
  switch (unit) {
    case 16: return launch_select<uint4>(a, units);
    case 8: return launch_select<unsigned long long>(a, units);
    case 4: return launch_select<unsigned int>(a, units);
    case 2: return launch_select<unsigned short>(a, units);
    default: return launch_select<unsigned char>(a, units);
  }
}

template <class T>
std::string index_add_cuda(const IndexRowsArgs<T>& a, int device) {
  const std::int64_t total = a.outer * a.m * a.inner;
  if (total == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  index_add_kernel<T><<<blocks_for(total), kThreads>>>(a.src, a.dst, a.index, a.outer, a.n, a.m, a.inner);
  return launch_status();
}

template std::string index_add_cuda<float>(const IndexRowsArgs<float>&, int);
template std::string index_add_cuda<double>(const IndexRowsArgs<double>&, int);

}  // namespace strata::kernels::cuda
