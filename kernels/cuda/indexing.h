#pragma once
// Indexing kernels on a CUDA device, twins of kernels/cpu index_select, gather and topk:
// row selection / accumulation along one axis, torch.gather / torch.scatter_add with
// general strides, and the k largest entries of each row. Indices are validated by the
// caller. All pointers are device pointers; every function returns an error string
// (empty on success) and does not synchronise.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/cpu/topk.h"

namespace strata::kernels::cuda {

// ---- index_select / index_add (index_rows.cu) ----------------------------------------

template <class T>
struct IndexRowsArgs {
  std::int64_t outer = 1, n = 0, inner = 1;  // the indexed tensor is [outer, n, inner]
  const std::int64_t* index = nullptr;       // [m], values in [0, n)
  std::int64_t m = 0;
  const T* src = nullptr;  // select: [outer, n, inner];  add: [outer, m, inner]
  T* dst = nullptr;        // select: [outer, m, inner];  add: [outer, n, inner], accumulated into
};

// dst[o, j, :] = src[o, index[j], :] for elements of `element_size` bytes (any dtype:
// the rows are copied as bytes, in the widest units their size and alignment allow).
std::string index_select_cuda(const IndexRowsArgs<void>& args, std::size_t element_size, int device);

// dst[o, index[j], :] += src[o, j, :] with atomicAdd: repeated indices accumulate in an
// unspecified order (the sum's rounding may vary run to run; without repeats it is exact).
// T: float, double.
template <class T>
std::string index_add_cuda(const IndexRowsArgs<T>& args, int device);

// ---- gather / scatter_add (gather.cu) ------------------------------------------------

inline constexpr int kGatherMaxDims = 5;  // as kernels/cpu/strided.h kMaxDims

template <class T>
struct GatherArgs {
  int rank = 0;  // 1..kGatherMaxDims
  int dim = 0;
  std::int64_t sizes[kGatherMaxDims] = {};  // index shape (the iteration space)
  const std::int64_t* index = nullptr;      // contiguous, shape `sizes`

  // gather: out[i] = x[i with coordinate dim replaced by index[i]]
  const T* x = nullptr;
  std::int64_t x_strides[kGatherMaxDims] = {};
  T* out = nullptr;  // contiguous, shape `sizes`

  // scatter_add: dst[i with coordinate dim replaced by index[i]] += src[i]
  const T* src = nullptr;
  std::int64_t src_strides[kGatherMaxDims] = {};
  T* dst = nullptr;
  std::int64_t dst_strides[kGatherMaxDims] = {};
};

// T: float, double.
template <class T>
std::string gather_cuda(const GatherArgs<T>& args, int device);
// With atomicAdd: repeated destinations accumulate in an unspecified order (exact when
// no two index entries hit the same element, as in topk's backward).
template <class T>
std::string scatter_add_cuda(const GatherArgs<T>& args, int device);

// ---- topk (topk.cu) --------------------------------------------------------------------

template <class T>
using TopKArgs = cpu::TopKArgs<T>;  // the CPU kernel's arguments, with device pointers

// The k largest of each row, sorted descending; ties go to the lower index and NaN counts
// as larger than any number (as torch.topk and topk_cpu): deterministic. T: float, double.
template <class T>
std::string topk_cuda(const TopKArgs<T>& args, int device);

}  // namespace strata::kernels::cuda
