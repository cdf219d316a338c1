#include "kernels/cpu/topk.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

template <class T>
void topk_cpu(const TopKArgs<T>& a) {
  parallel_for(a.rows, row_grain(a.cols), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<std::int64_t> order(std::size_t(a.cols));
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* x = a.x + r * a.cols;
      // strict weak order: NaN first, then larger values, then lower index
      auto before = [x](std::int64_t i, std::int64_t j) {
        const bool ni = std::isnan(x[i]), nj = std::isnan(x[j]);
        if (ni != nj) return ni;
        if (!ni && x[i] != x[j]) return x[i] > x[j];
        return i < j;
      };
      std::iota(order.begin(), order.end(), std::int64_t{0});
      std::partial_sort(order.begin(), order.begin() + a.k, order.end(), before);
      for (std::int64_t j = 0; j < a.k; ++j) {
        a.indices[r * a.k + j] = order[std::size_t(j)];
        a.values[r * a.k + j] = x[order[std::size_t(j)]];
      }
    }
  });
}

template void topk_cpu<float>(const TopKArgs<float>&);
template void topk_cpu<double>(const TopKArgs<double>&);

}  // namespace strata::kernels::cpu
