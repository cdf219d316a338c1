#pragma once
// Element types. f32 is the working type; f64 exists so gradient checks are exact;
// i64 holds indices (token ids, expert ids, top-k indices) and never carries gradient.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strata {

enum class DType : std::uint8_t { f32, f64, i64 };

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32:
      return 4;
    case DType::f64:
      return 8;
    case DType::i64:
      return 8;
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
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

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
template <class T>
inline constexpr DType dtype_of = DTypeOf<T>::value;

// Calls fn(T{}) with T the C++ type of a floating dtype; throws DTypeError otherwise.
// `op` names the caller in the error message.
template <class Fn>
decltype(auto) dispatch_floating(DType t, std::string_view op, Fn&& fn);

}  // namespace strata

#include "strata/detail/dtype_dispatch.h"
