#include "tensor_internal.h"

#include <string>

#include "backend/core_kernels.h"

namespace strata::detail {

Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Device common_device(std::string_view op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
    } else if (t->device() != first->device()) {
      throw DeviceError(std::string(op) + ": inputs are on different devices (" + first->device().to_string() +
                            " and " + t->device().to_string() + ")",
                        "move them to one device with .to(device)");
    }
  }
  return first ? first->device() : Device::cpu();
}

DType common_dtype(std::string_view op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
    } else if (t->dtype() != first->dtype()) {
      throw DTypeError(std::string(op) + ": inputs have different dtypes (" + std::string(dtype_name(first->dtype())) +
                           " and " + std::string(dtype_name(t->dtype())) + ")",
                       "convert one with .to(dtype)");
    }
  }
  return first ? first->dtype() : DType::f32;
}

void strided_copy(const Tensor& src, Tensor& dst) {
  const Tensor s = src.detach().expand(dst.shape());
  core_kernels::table().copy.run(common_device("copy", {&s, &dst}), {.src = &s, .dst = &dst});
}

void check_defined(std::string_view op, std::string_view arg, const Tensor& t) {
  if (!t.defined()) throw ValueError(std::string(op) + ": argument '" + std::string(arg) + "' is an undefined tensor");
}

void check_floating(std::string_view op, std::string_view arg, const Tensor& t) {
  check_defined(op, arg, t);
  if (!is_floating(t.dtype()))
    throw DTypeError(std::string(op) + ": argument '" + std::string(arg) + "' must be floating (f32, f64, bf16, f16), got " +
                     std::string(dtype_name(t.dtype())));
}

void check_shape(std::string_view op, std::string_view arg, const Tensor& t, const Shape& expected,
                 std::string_view meaning) {
  if (t.defined() && t.shape() != expected)
    throw ShapeError(std::string(op) + ": " + std::string(arg) + " is " + t.shape().to_string() + ", expected " +
                         expected.to_string(),
                     std::string(meaning));
}

void check_index_tensor(std::string_view op, std::string_view arg, const Tensor& t) {
  check_defined(op, arg, t);
  if (t.dtype() != DType::i64)
    throw DTypeError(std::string(op) + ": argument '" + std::string(arg) + "' must be an i64 index tensor, got " +
                         std::string(dtype_name(t.dtype())),
                     "convert with .to(DType::i64)");
}

Tensor bf16_operand(const Tensor& x) { return x.detach().to(DType::bf16).contiguous(); }

Tensor policy_operand(const Tensor& x, Precision precision) {
  return precision == Precision::bf16 ? bf16_operand(x) : x.detach().contiguous();
}

Tensor heads_packed(const Tensor& x) {
  const Strides& st = x.strides();
  const bool packed = st[3] == 1 && (x.size(2) == 1 || st[2] == x.size(3)) && st[0] >= 0 && st[1] >= 0;
  return packed ? x : x.contiguous();
}

}  // namespace strata::detail
