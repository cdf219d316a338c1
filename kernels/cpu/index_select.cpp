#include "kernels/cpu/index_select.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

template <class T>
void index_select_cpu(const IndexSelectArgs<T>& a) {
  const std::int64_t rows = a.outer * a.m;
  parallel_for(rows, std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(a.inner, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const std::int64_t o = r / a.m, j = r % a.m;
                   std::memcpy(a.dst + r * a.inner, a.src + (o * a.n + a.index[j]) * a.inner,
                               std::size_t(a.inner) * sizeof(T));
                 }
               });
}

template <class T>
void index_add_cpu(const IndexSelectArgs<T>& a) {
  // Work items are (o, column block) pairs; each walks every j in order.
  constexpr std::int64_t kColumnBlock = 64;
  const std::int64_t col_blocks = fixed_blocks(a.inner, kColumnBlock);
  const std::int64_t items = a.outer * col_blocks;
  const std::int64_t work_per_item = std::max<std::int64_t>(1, a.m * std::min(a.inner, kColumnBlock));
  parallel_for(items, std::max<std::int64_t>(1, (1 << 14) / work_per_item), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t item = i0; item < i1; ++item) {
      const std::int64_t o = item / col_blocks, cb = item % col_blocks;
      const std::int64_t c0 = cb * kColumnBlock, c1 = std::min(a.inner, c0 + kColumnBlock);
      for (std::int64_t j = 0; j < a.m; ++j) {
        const T* __restrict s = a.src + (o * a.m + j) * a.inner;
        T* __restrict d = a.dst + (o * a.n + a.index[j]) * a.inner;
        for (std::int64_t c = c0; c < c1; ++c) d[c] += s[c];
      }
    }
  });
}

template void index_select_cpu<float>(const IndexSelectArgs<float>&);
template void index_select_cpu<double>(const IndexSelectArgs<double>&);
template void index_select_cpu<std::int64_t>(const IndexSelectArgs<std::int64_t>&);
template void index_add_cpu<float>(const IndexSelectArgs<float>&);
template void index_add_cpu<double>(const IndexSelectArgs<double>&);

}  // namespace strata::kernels::cpu
