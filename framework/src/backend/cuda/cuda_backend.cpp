// CUDA kernels of the core table (STRATA_CUDA builds).
#include "backend/cuda/cuda_backend.h"

#include "kernels/cuda/fill.h"
#include "strata/error.h"
#include "tensor_internal.h"

namespace strata::cuda_backend {

using namespace core_kernels;

namespace {

void fill(const FillCall& c) {
  Tensor& t = *c.dst;
  const std::string err = detail::dispatch_any(t.dtype(), [&](auto type) {
    using T = decltype(type);
    return kernels::cuda::fill_cuda<T>(t.data<T>(), t.numel(), T(c.value), t.device().index);
  });
  if (!err.empty()) throw DeviceError("fill on " + t.device().to_string() + " failed: " + err);
}

}  // namespace

void register_all(CoreKernels& k) {
  k.fill.add({.backend = "cuda",
              .device = DeviceType::cuda,
              .dtypes = {DType::f32, DType::f64, DType::i64},
              .supports = {},
              .run = fill});
}

}  // namespace strata::cuda_backend
