#include "kernels/cpu/copy.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

namespace {
constexpr std::int64_t kCopyGrain = 1 << 16;  // elements per thread before threading pays

// Dst(v), through float where a 16-bit type is on either side.
template <class Dst, class Src>
inline Dst convert(Src v) {
  if constexpr (std::is_arithmetic_v<Src>)
    return Dst(v);
  else
    return Dst(float(v));
}
}  // namespace

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
          for (std::int64_t i = 0; i < inner; ++i) d[i] = convert<Dst>(src[i]);
        }
      } else if (dst_step == 1 && src_step == 0) {
        std::fill(d, d + inner, convert<Dst>(src[0]));
      } else {
        for (std::int64_t i = 0; i < inner; ++i) d[i * dst_step] = convert<Dst>(src[i * src_step]);
      }
    }
  });
}

template <class T>
void fill_cpu(T* dst, std::int64_t n, T value) {
  parallel_for(n, kCopyGrain, [&](std::int64_t begin, std::int64_t end) { std::fill(dst + begin, dst + end, value); });
}

#define STRATA_COPY_INSTANTIATE(S, D) template void copy_cpu<S, D>(const CopyArgs<S, D>&);
#define STRATA_COPY_FROM(S)                 \
  STRATA_COPY_INSTANTIATE(S, float)         \
  STRATA_COPY_INSTANTIATE(S, double)        \
  STRATA_COPY_INSTANTIATE(S, std::int64_t)  \
  STRATA_COPY_INSTANTIATE(S, bfloat16)      \
  STRATA_COPY_INSTANTIATE(S, float16)
STRATA_COPY_FROM(float)
STRATA_COPY_FROM(double)
STRATA_COPY_FROM(std::int64_t)
STRATA_COPY_FROM(bfloat16)
STRATA_COPY_FROM(float16)
#undef STRATA_COPY_FROM
#undef STRATA_COPY_INSTANTIATE
template void fill_cpu<float>(float*, std::int64_t, float);
template void fill_cpu<double>(double*, std::int64_t, double);
template void fill_cpu<std::int64_t>(std::int64_t*, std::int64_t, std::int64_t);
template void fill_cpu<bfloat16>(bfloat16*, std::int64_t, bfloat16);
template void fill_cpu<float16>(float16*, std::int64_t, float16);

}  // namespace strata::kernels::cpu
