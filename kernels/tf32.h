#pragma once
// TF32: an f32 value with its mantissa rounded to 10 bits (nearest, ties to even), the
// operand format of NVIDIA tensor cores' f32 products. The CPU's products under the tf32
// policy (precision.h) round their operands with this, so that both backends multiply the
// same values; the emulated GPU's cuBLAS stand-in does too.
#include <cstdint>
#include <cstring>

namespace strata::kernels {

inline float round_to_tf32(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7f800000u) == 0x7f800000u) return v;  // infinities and NaN unchanged
  bits += 0x0fffu + ((bits >> 13) & 1u);               // half of the dropped 13 bits, ties to even
  bits &= 0xffffe000u;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

}  // namespace strata::kernels
