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

// Elements of work a thread should get before threading pays off.
inline constexpr std::int64_t kParallelGrain = 1 << 14;

// Grain (in rows) that gives each thread about kParallelGrain elements of a [rows, cols] problem.
inline std::int64_t row_grain(std::int64_t cols) {
  return std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(cols, 1));
}

// Calls fn(row) for every row of a [rows, cols] problem, threaded over rows.
template <class Fn>
void parallel_rows(std::int64_t rows, std::int64_t cols, Fn&& fn) {
  parallel_for(rows, row_grain(cols), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) fn(r);
  });
}

// Accumulations into [outer, ..., cols] where several sources may hit the same row: the
// work is split into (o, column block) items that never touch the same element, so no
// two threads collide and each element sees its updates in a fixed order. Calls
// fn(o, c0, c1) per item; work_per_column is the number of updates each column receives.
template <class Fn>
void parallel_column_blocks(std::int64_t outer, std::int64_t cols, std::int64_t work_per_column, Fn&& fn) {
  constexpr std::int64_t kColumnBlock = 64;
  const std::int64_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
  const std::int64_t work = std::max<std::int64_t>(1, work_per_column * std::min(cols, kColumnBlock));
  parallel_for(outer * blocks, std::max<std::int64_t>(1, kParallelGrain / work), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t item = i0; item < i1; ++item) {
      const std::int64_t o = item / blocks, c0 = (item % blocks) * kColumnBlock;
      fn(o, c0, std::min(cols, c0 + kColumnBlock));
    }
  });
}

// Number of fixed-size blocks of `block` items covering n items. Reductions compute
// one partial per block (in parallel) and combine the partials in block order, so the
// result is bitwise the same for any number of threads.
inline std::int64_t fixed_blocks(std::int64_t n, std::int64_t block) { return (n + block - 1) / block; }

// Calls body(item, scratch) for every item of [0, n), dynamically scheduled (for items of
// uneven cost, such as causal attention tiles), with one scratch per thread made by
// make(). Each item's result must not depend on which thread runs it. work_per_item
// (elements) keeps small problems on the calling thread, as parallel_for's grain does.
template <class Make, class Body>
void parallel_items_with_scratch(std::int64_t n, Make&& make, Body&& body, std::int64_t work_per_item = kParallelGrain) {
  if (n <= 0) return;
  const std::int64_t worth = std::max<std::int64_t>(1, n * work_per_item / kParallelGrain);
  const int threads = omp_in_parallel() ? 1 : int(std::min<std::int64_t>({omp_get_max_threads(), n, worth}));
#pragma omp parallel num_threads(threads)
  {
    auto scratch = make();
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t item = 0; item < n; ++item) body(item, scratch);
  }
}

}  // namespace strata::kernels::cpu
