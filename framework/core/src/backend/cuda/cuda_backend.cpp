// CUDA kernels of the core table (STRATA_CUDA builds).
#include "backend/cuda/cuda_backend.h"

#include "kernels/cuda/fill.h"
#include "strata/error.h"
#include "strata/tensor.h"

namespace strata::cuda_backend {

using namespace core_kernels;

namespace {

void fill(const FillCall& c) {
  Tensor& t = *c.dst;
  const int device = t.device().index;
  const std::string err =
      t.dtype() == DType::f32   ? kernels::cuda::fill_cuda<float>(t.data<float>(), t.numel(), float(c.value), device)
      : t.dtype() == DType::f64 ? kernels::cuda::fill_cuda<double>(t.data<double>(), t.numel(), c.value, device)
                                : kernels::cuda::fill_cuda<std::int64_t>(t.data<std::int64_t>(), t.numel(),
                                                                         std::int64_t(c.value), device);
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
