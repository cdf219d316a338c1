#pragma once
// Framework-internal helpers for building tensors and views.
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "strata/detail/tensor_impl.h"
#include "strata/error.h"
#include "strata/precision.h"
#include "strata/tensor.h"

namespace strata::detail {

// A new view of `base`'s storage (no autograd history).
Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, std::int64_t offset);

// Calls fn(T{}) with the C++ type of any dtype.
template <class Fn>
decltype(auto) dispatch_any(DType t, Fn&& fn) {
  switch (t) {
    case DType::f32:
      return fn(float{});
    case DType::f64:
      return fn(double{});
    case DType::i64:
      return fn(std::int64_t{});
    case DType::bf16:
      return fn(bfloat16{});
    case DType::f16:
      return fn(float16{});
  }
  throw DTypeError("unknown dtype");
}

// The device shared by all defined tensors; DeviceError naming `op` when they differ.
Device common_device(std::string_view op, std::initializer_list<const Tensor*> tensors);
// The dtype shared by all defined tensors; DTypeError naming `op` when they differ.
DType common_dtype(std::string_view op, std::initializer_list<const Tensor*> tensors);

// dst = src broadcast to dst's shape, converting dtypes; dst may be any strided view.
// No autograd, no version bump (callers decide). Both on one device.
void strided_copy(const Tensor& src, Tensor& dst);

// A detached, contiguous bf16 copy of x, made in one pass (to(dtype) writes contiguously):
// the operand of a mixed-precision product (precision.h).
Tensor bf16_operand(const Tensor& x);
// x as an operand of a product under `precision` (precision.h): bf16_operand under bf16,
// else detached and contiguous (tf32 operands stay f32: the product rounds them).
Tensor policy_operand(const Tensor& x, Precision precision);

// x: [B, T, H, d] viewed so that kernels can read it in place: each head's d channels
// contiguous and the H heads adjacent (batch and time strides arbitrary, non-negative),
// as head ranges of a fused projection or the used rows of a cache are; else a copy.
Tensor heads_packed(const Tensor& x);

// Throws ShapeError/DTypeError unless t is defined, floating, and (when rank >= 0) of that rank.
void check_defined(std::string_view op, std::string_view arg, const Tensor& t);
void check_floating(std::string_view op, std::string_view arg, const Tensor& t);
void check_index_tensor(std::string_view op, std::string_view arg, const Tensor& t);
// Throws ShapeError "<op>: <arg> is [..], expected [..]" (hint: `meaning`) when t is defined
// with another shape; an undefined (optional) t passes.
void check_shape(std::string_view op, std::string_view arg, const Tensor& t, const Shape& expected,
                 std::string_view meaning);

}  // namespace strata::detail
