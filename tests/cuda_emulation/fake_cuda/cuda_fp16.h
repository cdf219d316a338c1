#pragma once
// __half (IEEE binary16 storage) for the CUDA emulator (see cuda_runtime.h): the
// conversions of the device's cvt.rn.f16.f32 / cvt.f32.f16, including its canonical NaN
// (0x7fff) for any NaN input.
#include <cstdint>
#include <cstring>

struct __half_raw {
  unsigned short x;
};

namespace emu {
// float -> binary16, round to nearest even; overflow to inf; NaN -> 0x7fff.
inline unsigned short float_to_half_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const std::uint32_t sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return 0x7fffu;
  if (abs == 0x7f800000u) return static_cast<unsigned short>(sign | 0x7c00u);
  if (abs >= 0x38800000u) {  // normal in binary16 (or rounding past its largest value)
    const std::uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    const std::uint32_t bits = (rounded - 0x38000000u) >> 13;
    return static_cast<unsigned short>(sign | (bits >= 0x7c00u ? 0x7c00u : bits));
  }
  if (abs < 0x33000001u) return static_cast<unsigned short>(sign);  // at most half the smallest subnormal
  const std::uint32_t exponent = abs >> 23, mantissa = (abs & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126u - exponent;  // 14 .. 24: value in units of 2^-24
  const std::uint32_t rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
  std::uint32_t value = mantissa >> shift;
  if (rest > halfway || (rest == halfway && (value & 1u))) ++value;
  return static_cast<unsigned short>(sign | value);
}
inline float half_bits_to_float(unsigned short h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1fu) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else {
    const float magnitude = float(mantissa) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
}  // namespace emu

struct alignas(2) __half {
  unsigned short __x;
  __half() = default;
  constexpr __half(const __half_raw& r) : __x(r.x) {}
  __half(float f) : __x(emu::float_to_half_bits(f)) {}
  __half(double d) : __x(emu::float_to_half_bits(float(d))) {}
  operator float() const { return emu::half_bits_to_float(__x); }
  operator __half_raw() const { return __half_raw{__x}; }
};

inline __half __float2half_rn(float f) { return __half(__half_raw{emu::float_to_half_bits(f)}); }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return emu::half_bits_to_float(h.__x); }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half __ushort_as_half(unsigned short bits) { return __half(__half_raw{bits}); }
