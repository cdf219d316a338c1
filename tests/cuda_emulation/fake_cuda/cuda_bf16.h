#pragma once
// __nv_bfloat16 storage for the CUDA emulator (see cuda_runtime.h): the conversions of the
// device's cvt.rn.bf16.f32, including its canonical NaN (0x7fff) for any NaN input.
#include <cstdint>
#include <cstring>

struct __nv_bfloat16_raw {
  unsigned short x;
};

namespace emu {
// float -> bfloat16, round to nearest even; NaN -> 0x7fff.
inline unsigned short float_to_bfloat16_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fffu;
  return static_cast<unsigned short>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float bfloat16_bits_to_float(unsigned short b) {
  const std::uint32_t u = std::uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace emu

struct alignas(2) __nv_bfloat16 {
  unsigned short __x;
  __nv_bfloat16() = default;
  constexpr __nv_bfloat16(const __nv_bfloat16_raw& r) : __x(r.x) {}
  __nv_bfloat16(float f) : __x(emu::float_to_bfloat16_bits(f)) {}
  __nv_bfloat16(double d) : __x(emu::float_to_bfloat16_bits(float(d))) {}
  operator float() const { return emu::bfloat16_bits_to_float(__x); }
  operator __nv_bfloat16_raw() const { return __nv_bfloat16_raw{__x}; }
};

inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16(__nv_bfloat16_raw{emu::float_to_bfloat16_bits(f)}); }
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline float __bfloat162float(__nv_bfloat16 b) { return emu::bfloat16_bits_to_float(b.__x); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.__x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short bits) { return __nv_bfloat16(__nv_bfloat16_raw{bits}); }
