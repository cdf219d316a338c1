#pragma once
#include <string>

#include "strata/error.h"

namespace strata {

template <class Fn>
decltype(auto) dispatch_floating(DType t, std::string_view op, Fn&& fn) {
  switch (t) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    default:
      break;
  }
  throw DTypeError(std::string(op) + ": expected a floating tensor (f32 or f64), got " + std::string(dtype_name(t)));
}

}  // namespace strata
