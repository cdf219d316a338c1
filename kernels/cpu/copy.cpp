#include "kernels/cpu/copy.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

namespace {
constexpr std::int64_t kCopyGrain = 1 << 16;  // elements per thread before threading pays
}

template <class Src, class Dst>
void copy_cpu(const CopyArgs<Src, Dst>& args) {
  StridedSpace space;
  space.rank = args.rank;
  for (int d = 0; d < args.rank; ++d) {
    space.sizes[d] = args.sizes[d];
    space.strides[0][d] = args.dst_strides[d];
    space.strides[1][d] = args.src_strides[d];
  }
  std::int64_t total = 1;
  for (int d = 0; d < args.rank; ++d) total *= args.sizes[d];
  if (total == 0) return;
  const StridedSpace s = coalesce(space, 2);
  const std::int64_t inner = s.sizes[s.rank - 1];
  const std::int64_t dst_step = s.strides[0][s.rank - 1], src_step = s.strides[1][s.rank - 1];
  const std::int64_t rows = total / inner;
  const std::int64_t grain = std::max<std::int64_t>(1, kCopyGrain / inner);
  parallel_for(rows, grain, [&](std::int64_t row_begin, std::int64_t row_end) {
    for (std::int64_t row = row_begin; row < row_end; ++row) {
      const auto off = row_offsets<2>(s, row);
      Dst* __restrict d = args.dst + off[0];
      const Src* __restrict src = args.src + off[1];
      if (dst_step == 1 && src_step == 1) {
        if constexpr (std::is_same_v<Src, Dst>) {
          std::memcpy(d, src, std::size_t(inner) * sizeof(Dst));
        } else {
          for (std::int64_t i = 0; i < inner; ++i) d[i] = Dst(src[i]);
        }
      } else if (dst_step == 1 && src_step == 0) {
        std::fill(d, d + inner, Dst(src[0]));
      } else {
        for (std::int64_t i = 0; i < inner; ++i) d[i * dst_step] = Dst(src[i * src_step]);
      }
    }
  });
}

template <class T>
void fill_cpu(T* dst, std::int64_t n, T value) {
  parallel_for(n, kCopyGrain, [&](std::int64_t begin, std::int64_t end) { std::fill(dst + begin, dst + end, value); });
}

#define STRATA_COPY_INSTANTIATE(S, D) template void copy_cpu<S, D>(const CopyArgs<S, D>&);
STRATA_COPY_INSTANTIATE(float, float)
STRATA_COPY_INSTANTIATE(float, double)
STRATA_COPY_INSTANTIATE(float, std::int64_t)
STRATA_COPY_INSTANTIATE(double, float)
STRATA_COPY_INSTANTIATE(double, double)
STRATA_COPY_INSTANTIATE(double, std::int64_t)
STRATA_COPY_INSTANTIATE(std::int64_t, float)
STRATA_COPY_INSTANTIATE(std::int64_t, double)
STRATA_COPY_INSTANTIATE(std::int64_t, std::int64_t)
#undef STRATA_COPY_INSTANTIATE
template void fill_cpu<float>(float*, std::int64_t, float);
template void fill_cpu<double>(double*, std::int64_t, double);
template void fill_cpu<std::int64_t>(std::int64_t*, std::int64_t, std::int64_t);

}  // namespace strata::kernels::cpu
