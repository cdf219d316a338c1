#include "kernels/cpu/random.h"

#include <algorithm>
#include <numbers>

#include "kernels/cpu/parallel.h"
#include "kernels/philox.h"
#include "kernels/random_math.h"

namespace strata::kernels::cpu {

namespace {

constexpr std::int64_t kCounterGrain = 1 << 12;
static_assert(kTwoPi == 2.0 * std::numbers::pi, "random_math.h's 2 pi is the double nearest 2 pi");

// Calls fill(words, element_begin, count) for each counter whose elements fall in [0, n).
template <class Fill>
void for_each_counter(std::int64_t n, std::int64_t per, std::uint64_t key, std::uint64_t first, Fill fill) {
  const std::int64_t counters = std::int64_t(counters_for(n, per));
  parallel_for(counters, kCounterGrain, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const Philox4 w = philox_at(key, first + std::uint64_t(c));
      const std::int64_t begin = c * per;
      fill(w, begin, std::min(per, n - begin));
    }
  });
}

}  // namespace

// The element formulas are kernels/random_math.h's, shared with the CUDA kernels.

template <class T>
void uniform_fill_cpu(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first, T low, T high) {
  const T span = high - low, upper = uniform_upper(low, high);
  for_each_counter(n, uniform_per_counter<T>, key, first, [&](const Philox4& w, std::int64_t b, std::int64_t count) {
    for (std::int64_t l = 0; l < count; ++l) out[b + l] = uniform_value(uniform_unit<T>(w, int(l)), low, span, upper);
  });
}

template <class T>
void normal_fill_cpu(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first, T mean, T std) {
  for_each_counter(n, normal_per_counter<T>, key, first, [&](const Philox4& w, std::int64_t b, std::int64_t count) {
    double z[4] = {};
    standard_normals<T>(w, z);
    for (std::int64_t l = 0; l < count; ++l) out[b + l] = normal_value(z[l], mean, std);
  });
}

void randint_fill_cpu(std::int64_t* out, std::int64_t n, std::uint64_t key, std::uint64_t first, std::int64_t low,
                      std::int64_t high) {
  const std::uint64_t range = std::uint64_t(high) - std::uint64_t(low);
  for_each_counter(n, randint_per_counter, key, first, [&](const Philox4& w, std::int64_t b, std::int64_t count) {
    for (std::int64_t l = 0; l < count; ++l) out[b + l] = randint_value(w, int(l), low, range);
  });
}

template void uniform_fill_cpu<float>(float*, std::int64_t, std::uint64_t, std::uint64_t, float, float);
template void uniform_fill_cpu<double>(double*, std::int64_t, std::uint64_t, std::uint64_t, double, double);
template void normal_fill_cpu<float>(float*, std::int64_t, std::uint64_t, std::uint64_t, float, float);
template void normal_fill_cpu<double>(double*, std::int64_t, std::uint64_t, std::uint64_t, double, double);

}  // namespace strata::kernels::cpu
