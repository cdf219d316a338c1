#include "kernels/cpu/gather.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

namespace {

// The index space split as [P, m, Q] around `dim`, with the offset of every pre-index p
// and post-index q inside a tensor of the given strides.
struct SplitSpace {
  std::int64_t P = 1, m = 1, Q = 1;
  std::vector<std::int64_t> pre, post;
  std::int64_t dim_stride = 0;
};

SplitSpace split_space(int rank, int dim, const std::int64_t* sizes, const std::int64_t* strides) {
  SplitSpace s;
  for (int d = 0; d < dim; ++d) s.P *= sizes[d];
  s.m = sizes[dim];
  for (int d = dim + 1; d < rank; ++d) s.Q *= sizes[d];
  s.dim_stride = strides[dim];
  auto offsets = [&](int first, int last, std::int64_t count) {
    std::vector<std::int64_t> off(std::size_t(count), 0);
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t rest = i, o = 0;
      for (int d = last - 1; d >= first; --d) {
        o += (rest % sizes[d]) * strides[d];
        rest /= sizes[d];
      }
      off[std::size_t(i)] = o;
    }
    return off;
  };
  s.pre = offsets(0, dim, s.P);
  s.post = offsets(dim + 1, rank, s.Q);
  return s;
}

}  // namespace

template <class T>
void gather_cpu(const GatherArgs<T>& a) {
  const SplitSpace x = split_space(a.rank, a.dim, a.sizes, a.x_strides);
  const std::int64_t Q = x.Q;
  parallel_rows(x.P * x.m, Q, [&](std::int64_t r) {
    const std::int64_t* idx = a.index + r * Q;
    T* out = a.out + r * Q;
    const T* base = a.x + x.pre[std::size_t(r / x.m)];
    for (std::int64_t q = 0; q < Q; ++q) out[q] = base[idx[q] * x.dim_stride + x.post[std::size_t(q)]];
  });
}

template <class T>
void scatter_add_cpu(const GatherArgs<T>& a) {
  const SplitSpace dst = split_space(a.rank, a.dim, a.sizes, a.dst_strides);
  const SplitSpace src = split_space(a.rank, a.dim, a.sizes, a.src_strides);
  // Distinct (p, q) never collide in dst; each work item walks its j in order.
  parallel_column_blocks(dst.P, dst.Q, dst.m, [&](std::int64_t p, std::int64_t q0, std::int64_t q1) {
    for (std::int64_t j = 0; j < dst.m; ++j) {
      const std::int64_t* idx = a.index + (p * dst.m + j) * dst.Q;
      const T* s = a.src + src.pre[std::size_t(p)] + j * src.dim_stride;
      T* d = a.dst + dst.pre[std::size_t(p)];
      for (std::int64_t q = q0; q < q1; ++q)
        d[idx[q] * dst.dim_stride + dst.post[std::size_t(q)]] += s[src.post[std::size_t(q)]];
    }
  });
}

template void gather_cpu<float>(const GatherArgs<float>&);
template void gather_cpu<double>(const GatherArgs<double>&);
template void gather_cpu<std::int64_t>(const GatherArgs<std::int64_t>&);
template void scatter_add_cpu<float>(const GatherArgs<float>&);
template void scatter_add_cpu<double>(const GatherArgs<double>&);

}  // namespace strata::kernels::cpu
