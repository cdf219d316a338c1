#include "kernels/cpu/random.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kernels/cpu/parallel.h"
#include "kernels/philox.h"

namespace strata::kernels::cpu {

namespace {

constexpr std::int64_t kCounterGrain = 1 << 12;
constexpr double kTwoPow32 = 4294967296.0;
__extension__ typedef unsigned __int128 uint128;  // GCC/Clang extension, for multiply-shift

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

// Two normals from two uniforms in (0, 1]: u1 must be > 0 for the log.
inline void box_muller(double u1, double u2, double& z0, double& z1) {
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  z0 = radius * std::cos(angle);
  z1 = radius * std::sin(angle);
}

inline double open_unit_32(std::uint32_t w) { return (double(w) + 1.0) / kTwoPow32; }  // (0, 1]

}  // namespace

template <class T>
void uniform_fill_cpu(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first, T low, T high) {
  const T span = high - low;
  for_each_counter(n, uniform_per_counter<T>, key, first, [&](const Philox4& w, std::int64_t b, std::int64_t count) {
    for (std::int64_t l = 0; l < count; ++l) {
      T u;
      if constexpr (sizeof(T) == 4)
        u = uniform_f32(w[std::size_t(l)]);
      else
        u = T(uniform_f64(w[std::size_t(2 * l)], w[std::size_t(2 * l + 1)]));
      // low + span * u can round up to high for u just below 1; keep the interval half-open
      out[b + l] = std::min(low + span * u, std::nextafter(high, low));
    }
  });
}

template <class T>
void normal_fill_cpu(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first, T mean, T std) {
  for_each_counter(n, normal_per_counter<T>, key, first, [&](const Philox4& w, std::int64_t b, std::int64_t count) {
    double z[4] = {};
    if constexpr (sizeof(T) == 4) {
      box_muller(open_unit_32(w[0]), open_unit_32(w[1]), z[0], z[1]);
      box_muller(open_unit_32(w[2]), open_unit_32(w[3]), z[2], z[3]);
    } else {
      const double u1 = 1.0 - uniform_f64(w[0], w[1]);  // (0, 1]
      box_muller(u1, uniform_f64(w[2], w[3]), z[0], z[1]);
    }
    for (std::int64_t l = 0; l < count; ++l) out[b + l] = T(double(mean) + double(std) * z[l]);
  });
}

void randint_fill_cpu(std::int64_t* out, std::int64_t n, std::uint64_t key, std::uint64_t first, std::int64_t low,
                      std::int64_t high) {
  const uint128 range = static_cast<uint128>(std::uint64_t(high) - std::uint64_t(low));
  for_each_counter(n, randint_per_counter, key, first, [&](const Philox4& w, std::int64_t b, std::int64_t count) {
    for (std::int64_t l = 0; l < count; ++l) {
      const std::uint64_t bits = (std::uint64_t(w[std::size_t(2 * l)]) << 32) | w[std::size_t(2 * l + 1)];
      const std::uint64_t pick = std::uint64_t((static_cast<uint128>(bits) * range) >> 64);
      out[b + l] = std::int64_t(std::uint64_t(low) + pick);
    }
  });
}

template void uniform_fill_cpu<float>(float*, std::int64_t, std::uint64_t, std::uint64_t, float, float);
template void uniform_fill_cpu<double>(double*, std::int64_t, std::uint64_t, std::uint64_t, double, double);
template void normal_fill_cpu<float>(float*, std::int64_t, std::uint64_t, std::uint64_t, float, float);
template void normal_fill_cpu<double>(double*, std::int64_t, std::uint64_t, std::uint64_t, double, double);

}  // namespace strata::kernels::cpu
