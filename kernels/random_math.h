#pragma once
// The per-element formulas of the random fills (kernels/op_kinds.h: element i of a fill
// uses Philox counter first_counter + i / per_counter), shared by kernels/cpu/random.cpp
// and kernels/cuda/random.cu so that both backends turn the same random words into the
// same numbers. Plain C++17 for host and device. Device code multiplies with __fmul_rn /
// __dmul_rn where an add follows, so that nvcc does not fuse them into an FMA: the CPU
// rounds the product and the sum separately (the x86-64 baseline has no FMA; where the host
// compiler may contract, e.g. aarch64 or -march=native, random.cpp wants -ffp-contract=off).
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/philox.h"

namespace strata::kernels {

// a * b rounded on its own (never contracted into an FMA with a following add on device).
STRATA_HOST_DEVICE inline float mul_rounded(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
STRATA_HOST_DEVICE inline double mul_rounded(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// ---- uniform ----------------------------------------------------------------------------

// Uniform in [0, 1): element l (l < uniform_per_counter<T>) of one counter's words: f32
// from the 24 high bits of word l, f64 from 53 bits of words 2l and 2l + 1.
template <class T>
STRATA_HOST_DEVICE inline T uniform_unit(const Philox4& w, int l) {
  if constexpr (sizeof(T) == 4)
    return uniform_f32(w[std::size_t(l)]);
  else
    return T(uniform_f64(w[std::size_t(2 * l)], w[std::size_t(2 * l + 1)]));
}

// The largest value a fill in [low, high) may produce.
template <class T>
STRATA_HOST_DEVICE inline T uniform_upper(T low, T high) {
  return std::nextafter(high, low);
}

// low + span * u (span = high - low), clamped to upper = uniform_upper(low, high): the sum
// can round up to high for u just below 1, and the interval stays half-open.
template <class T>
STRATA_HOST_DEVICE inline T uniform_value(T u, T low, T span, T upper) {
  const T v = low + mul_rounded(span, u);
  return upper < v ? upper : v;  // std::min(v, upper)
}

// ---- normal -----------------------------------------------------------------------------

// (0, 1] from one 32-bit word (never 0, for the log of Box-Muller).
STRATA_HOST_DEVICE inline double open_unit_32(std::uint32_t w) { return (double(w) + 1.0) / 4294967296.0; }

inline constexpr double kTwoPi = 6.283185307179586476925;  // 2 * std::numbers::pi (C++17: no <numbers>)

// Two standard normals from two uniforms, u1 in (0, 1] (the log's argument) and u2 in [0, 1).
STRATA_HOST_DEVICE inline void box_muller(double u1, double u2, double& z0, double& z1) {
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = kTwoPi * u2;
  z0 = radius * std::cos(angle);
  z1 = radius * std::sin(angle);
}

// The normal_per_counter<T> standard normals of one counter's words, in double: f32 from
// four 32-bit uniforms (two Box-Muller pairs), f64 from two 53-bit uniforms (one pair).
template <class T>
STRATA_HOST_DEVICE inline void standard_normals(const Philox4& w, double z[4]) {
  if constexpr (sizeof(T) == 4) {
    box_muller(open_unit_32(w[0]), open_unit_32(w[1]), z[0], z[1]);
    box_muller(open_unit_32(w[2]), open_unit_32(w[3]), z[2], z[3]);
  } else {
    const double u1 = 1.0 - uniform_f64(w[0], w[1]);  // (0, 1]
    box_muller(u1, uniform_f64(w[2], w[3]), z[0], z[1]);
    z[2] = z[3] = 0;
  }
}

// mean + std * z in double, rounded once to T.
template <class T>
STRATA_HOST_DEVICE inline T normal_value(double z, T mean, T std_dev) {
  return T(double(mean) + mul_rounded(double(std_dev), z));
}

// ---- integers ---------------------------------------------------------------------------

// low + floor(bits * range / 2^64) for element l (l < randint_per_counter) of one counter,
// bits the 64-bit word pair (2l, 2l + 1): multiply-shift, bias below range / 2^64.
// range = high - low as uint64 (high > low).
STRATA_HOST_DEVICE inline std::int64_t randint_value(const Philox4& w, int l, std::int64_t low, std::uint64_t range) {
  const std::uint64_t bits = (std::uint64_t(w[std::size_t(2 * l)]) << 32) | w[std::size_t(2 * l + 1)];
#if defined(__CUDA_ARCH__)
  const std::uint64_t pick = __umul64hi(bits, range);
#else
  __extension__ typedef unsigned __int128 uint128;  // GCC/Clang extension
  const std::uint64_t pick = std::uint64_t((uint128(bits) * uint128(range)) >> 64);
#endif
  return std::int64_t(std::uint64_t(low) + pick);
}

}  // namespace strata::kernels
