// Differentiable copies: contiguous, clone, dtype and device conversion.
#include <cstring>

#include "strata/allocator.h"
#include "strata/autograd.h"
#include "strata/detail/tensor_impl.h"
#include "tensor_internal.h"

#ifdef STRATA_WITH_CUDA
#include "kernels/cuda/memory.h"
#endif

namespace strata {

namespace {

// A contiguous copy of x with the given dtype, recorded as `op` (gradient: converted back).
Tensor copy_as(const Tensor& x, DType dtype, const char* op) {
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  detail::strided_copy(x, out);
  if (is_floating(dtype) && is_floating(x.dtype())) {
    autograd::record(op, {x}, {out}, [from = x.dtype()](const autograd::BackwardArgs& a) {
      return std::vector<Tensor>{a.grad().to(from)};
    });
  }
  return out;
}

#ifdef STRATA_WITH_CUDA
Tensor copy_across_devices(const Tensor& x, Device device) {
  const Tensor src = x.contiguous();
  Tensor out = Tensor::empty(src.shape(), src.dtype(), device);
  const auto index = [](Device d) { return d.is_cpu() ? kernels::cuda::kHostMemory : d.index; };
  const std::string err =
      kernels::cuda::copy(out.raw_data(), index(device), src.raw_data(), index(src.device()), src.nbytes());
  if (!err.empty())
    throw DeviceError("copy from " + src.device().to_string() + " to " + device.to_string() + " failed: " + err);
  return out;
}
#endif

}  // namespace

Tensor Tensor::contiguous() const {
  detail::check_defined("contiguous", "x", *this);
  if (is_contiguous()) return *this;
  return copy_as(*this, dtype(), "contiguous");
}

Tensor Tensor::clone() const {
  detail::check_defined("clone", "x", *this);
  return copy_as(*this, dtype(), "clone");
}

Tensor Tensor::to(DType dtype) const {
  detail::check_defined("to", "x", *this);
  if (dtype == this->dtype()) return *this;
  return copy_as(*this, dtype, "to(dtype)");
}

Tensor Tensor::to(Device device) const {
  detail::check_defined("to", "x", *this);
  if (device == this->device()) return *this;
#ifdef STRATA_WITH_CUDA
  allocator_for(device);  // raises a clear DeviceError for a device that does not exist
  Tensor out = copy_across_devices(*this, device);
  autograd::record("to(device)", {*this}, {out}, [from = this->device()](const autograd::BackwardArgs& a) {
    return std::vector<Tensor>{a.grad().to(from)};
  });
  return out;
#else
  allocator_for(device);  // throws: this build has no device but the CPU
  return *this;
#endif
}

}  // namespace strata
