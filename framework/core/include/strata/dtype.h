#pragma once
// Element types. f32 is the working type; f64 exists so gradient checks are exact;
// bf16 and f16 are 16-bit storage and compute types (half.h) for reduced-precision weights
// and mixed-precision products; i64 holds indices (token ids, expert ids, top-k indices)
// and never carries gradient.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "strata/half.h"

namespace strata {

enum class DType : std::uint8_t { f32, f64, i64, bf16, f16 };

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
      return 4;
    case DType::f64:
      return 8;
    case DType::i64:
      return 8;
    case DType::bf16:
    case DType::f16:
      return 2;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "f32";
    case DType::f64:
      return "f64";
    case DType::i64:
      return "i64";
    case DType::bf16:
      return "bf16";
    case DType::f16:
      return "f16";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t != DType::i64; }
// bf16 and f16: stored in 16 bits, computed in f32 (or in bf16 products with f32 accumulation).
constexpr bool is_reduced_precision(DType t) { return t == DType::bf16 || t == DType::f16; }

template <class T>
struct DTypeOf;
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::f32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::f64;
};
template <>
struct DTypeOf<std::int64_t> {
  static constexpr DType value = DType::i64;
};
template <>
struct DTypeOf<bfloat16> {
  static constexpr DType value = DType::bf16;
};
template <>
struct DTypeOf<float16> {
  static constexpr DType value = DType::f16;
};
template <class T>
inline constexpr DType dtype_of = DTypeOf<T>::value;

// Calls fn(T{}) with T the C++ type of a floating dtype; throws DTypeError otherwise.
// `op` names the caller in the error message.
template <class Fn>
decltype(auto) dispatch_floating(DType t, std::string_view op, Fn&& fn);

}  // namespace strata

#include "strata/detail/dtype_dispatch.h"
