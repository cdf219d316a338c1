#pragma once
// torch.gather / torch.scatter_add along one axis, with general strides. The iteration
// space is the index tensor's shape; along every other axis the index may be smaller
// than the tensors it reads or writes. Indices are validated by the caller.
#include <cstdint>

#include "kernels/cpu/strided.h"

namespace strata::kernels::cpu {

template <class T>
struct GatherArgs {
  int rank = 0;
  int dim = 0;
  std::int64_t sizes[kMaxDims] = {};    // index shape (the iteration space)
  const std::int64_t* index = nullptr;  // contiguous, shape `sizes`

  // gather: out[i] = x[i with coordinate dim replaced by index[i]]
  const T* x = nullptr;
  std::int64_t x_strides[kMaxDims] = {};
  T* out = nullptr;  // contiguous, shape `sizes`

  // scatter_add: dst[i with coordinate dim replaced by index[i]] += src[i]
  const T* src = nullptr;
  std::int64_t src_strides[kMaxDims] = {};
  T* dst = nullptr;
  std::int64_t dst_strides[kMaxDims] = {};
};

template <class T>
void gather_cpu(const GatherArgs<T>& args);
// Repeated destinations accumulate in index order (threads never split the indexed axis).
template <class T>
void scatter_add_cpu(const GatherArgs<T>& args);

}  // namespace strata::kernels::cpu
