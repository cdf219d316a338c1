#include "kernels/cpu/index_select.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

template <class T>
void index_select_cpu(const IndexSelectArgs<T>& a) {
  parallel_rows(a.outer * a.m, a.inner, [&](std::int64_t r) {
    const std::int64_t o = r / a.m, j = r % a.m;
    std::memcpy(a.dst + r * a.inner, a.src + (o * a.n + a.index[j]) * a.inner, std::size_t(a.inner) * sizeof(T));
  });
}

template <class T>
void index_add_cpu(const IndexSelectArgs<T>& a) {
  parallel_column_blocks(a.outer, a.inner, a.m, [&](std::int64_t o, std::int64_t c0, std::int64_t c1) {
    for (std::int64_t j = 0; j < a.m; ++j) {
      const T* __restrict s = a.src + (o * a.m + j) * a.inner;
      T* __restrict d = a.dst + (o * a.n + a.index[j]) * a.inner;
      for (std::int64_t c = c0; c < c1; ++c) d[c] += s[c];
    }
  });
}

template void index_select_cpu<float>(const IndexSelectArgs<float>&);
template void index_select_cpu<double>(const IndexSelectArgs<double>&);
template void index_select_cpu<std::int64_t>(const IndexSelectArgs<std::int64_t>&);
template void index_select_cpu<bfloat16>(const IndexSelectArgs<bfloat16>&);
template void index_select_cpu<float16>(const IndexSelectArgs<float16>&);
template void index_add_cpu<float>(const IndexSelectArgs<float>&);
template void index_add_cpu<double>(const IndexSelectArgs<double>&);

}  // namespace strata::kernels::cpu
