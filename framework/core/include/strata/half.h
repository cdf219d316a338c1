#pragma once
// 16-bit floating-point element types: bfloat16 (8 exponent bits, 7 mantissa bits: the
// range of f32 at lower precision, the training format of current accelerators) and
// float16 (IEEE 754 binary16). Storage types: arithmetic converts to float. Conversions
// from float round to nearest, ties to even; NaN stays NaN. Freestanding (no strata
// dependency), so that kernels can use it too.
#include <bit>
#include <concepts>
#include <cstdint>

namespace strata {

struct bfloat16 {
  std::uint16_t bits = 0;

  constexpr bfloat16() = default;
  template <class T>
    requires std::is_arithmetic_v<T>
  constexpr explicit bfloat16(T value) : bits(from_float(float(value))) {}
  static constexpr bfloat16 from_bits(std::uint16_t b) {
    bfloat16 v;
    v.bits = b;
    return v;
  }
  constexpr explicit operator float() const { return std::bit_cast<float>(std::uint32_t(bits) << 16); }
  template <class T>
    requires std::is_arithmetic_v<T>
  constexpr explicit operator T() const {
    return T(float(*this));
  }

  // Branch-free, so that conversion loops vectorise.
  static constexpr std::uint16_t from_float(float f) {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const std::uint32_t quiet_nan = (u >> 16) | 0x40u;
    return std::uint16_t((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
  }
};

struct float16 {
  std::uint16_t bits = 0;

  constexpr float16() = default;
  template <class T>
    requires std::is_arithmetic_v<T>
  constexpr explicit float16(T value) : bits(from_float(float(value))) {}
  static constexpr float16 from_bits(std::uint16_t b) {
    float16 v;
    v.bits = b;
    return v;
  }
  constexpr explicit operator float() const { return to_float(bits); }
  template <class T>
    requires std::is_arithmetic_v<T>
  constexpr explicit operator T() const {
    return T(float(*this));
  }

  static constexpr float to_float(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
    if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
    // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = float(mantissa) * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }

  static constexpr std::uint16_t from_float(float f) {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;
    if (abs > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);  // NaN
    if (abs >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // rounds to or beyond 65520: inf
    if (abs >= 0x38800000u) {                                       // normal in binary16
      const std::uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
      return std::uint16_t(sign | ((rounded - 0x38000000u) >> 13));
    }
    // subnormal or zero: the value in units of 2^-24, rounded to nearest even
    const std::uint32_t exponent = abs >> 23;
    if (exponent < 102) return std::uint16_t(sign);  // below half the smallest subnormal
    const std::uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - exponent;  // 14 .. 24
    const std::uint32_t halfway = 1u << (shift - 1), rest = mantissa & ((1u << shift) - 1u);
    std::uint32_t value = mantissa >> shift;
    if (rest > halfway || (rest == halfway && (value & 1u))) ++value;
    return std::uint16_t(sign | value);
  }
};

}  // namespace strata
