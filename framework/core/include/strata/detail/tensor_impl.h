#pragma once
// What a Tensor handle points at. Framework-internal: plugin code uses Tensor.
#include <cstdint>
#include <memory>

#include "strata/dtype.h"
#include "strata/shape.h"
#include "strata/storage.h"
#include "strata/tensor.h"

namespace strata {

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // elements
  Shape shape;
  Strides strides;
  DType dtype = DType::f32;

  // autograd
  bool requires_grad = false;               // leaves: set by the user; results: any input requires grad
  Tensor grad;                              // leaves only
  std::shared_ptr<autograd::Node> grad_fn;  // results of recorded ops
  int output_nr = 0;                        // which output of grad_fn this is
};

}  // namespace strata
