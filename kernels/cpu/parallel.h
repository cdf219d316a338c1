#pragma once
// Threading policy for CPU kernels: split a range across OpenMP threads only when each
// thread gets at least `grain` items of work; small ops stay on the calling thread
// (a parallel region costs a few microseconds, more than a small op itself).
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace strata::kernels::cpu {

// Calls fn(begin, end) on disjoint sub-ranges covering [0, n). Sub-range boundaries
// depend on the thread count, so fn must not let results depend on them (reductions
// use fixed_blocks() below instead).
template <class Fn>
void parallel_for(std::int64_t n, std::int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  const std::int64_t max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const std::int64_t threads = std::min<std::int64_t>(max_threads, n / std::max<std::int64_t>(grain, 1));
  if (threads <= 1) {
    fn(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(int(threads))
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const std::int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) fn(begin, end);
  }
}

// Number of fixed-size blocks of `block` items covering n items. Reductions compute
// one partial per block (in parallel) and combine the partials in block order, so the
// result is bitwise the same for any number of threads.
inline std::int64_t fixed_blocks(std::int64_t n, std::int64_t block) { return (n + block - 1) / block; }

}  // namespace strata::kernels::cpu
