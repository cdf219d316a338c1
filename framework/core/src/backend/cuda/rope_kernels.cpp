// CUDA kernel of the rope entry (the CPU backend has it among the row ops).
#include <span>

#include "backend/cuda/cuda_backend.h"
#include "kernels/cuda/rope.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

// The Call's inverse frequencies are a host array and its positions may be a host tensor
// (ops/rope.cpp validates them on the CPU): both come to x's device through the backend's
// kept copies (host_values_on_device), and the cos / sin tables get a scratch tensor,
// released when this returns while the kernels may still run: that is safe because the
// caching allocator hands its memory only to later work on the same (default) stream, or
// frees it with cudaFree, which waits for the device.
void rope(const RopeCall& c) {
  const Tensor& x = *c.x;
  const Device device = x.device();
  const std::int64_t half = c.rotary_dim / 2;
  const Tensor inv_freq_host =
      c.inv_freq ? Tensor::from_vector(std::span<const double>(c.inv_freq, std::size_t(half)), {half}) : Tensor();
  const Tensor inv_freq = host_values_on_device(&inv_freq_host, device);
  const Tensor positions = host_values_on_device(c.positions, device);
  Tensor table = Tensor::empty({2 * x.size(1) * half}, x.dtype(), device);
  dispatch_floating(x.dtype(), "rope", [&](auto type) {
    using T = decltype(type);
    cu::RopeArgs<T> args;
    args.batch = x.size(0);
    args.seq_len = x.size(1);
    args.n_heads = x.size(2);
    args.head_dim = x.size(3);
    args.rotary_dim = c.rotary_dim;
    args.position_offset = c.position_offset;
    args.positions = positions.defined() ? positions.data<std::int64_t>() : nullptr;
    args.theta = c.theta;
    args.inv_freq = inv_freq.defined() ? inv_freq.data<double>() : nullptr;
    args.scale = c.scale;
    args.interleaved = c.interleaved;
    args.inverse = c.inverse;
    args.x = x.data<T>();
    args.x_stride_b = x.strides()[0];
    args.x_stride_t = x.strides()[1];
    args.out = c.out->data<T>();
    args.table = table.data<T>();
    check(cu::rope_cuda(args, device.index), "rope", x);
  });
}

}  // namespace

void register_rope(CoreKernels& k) { add(k.rope, kFloating, rope); }

}  // namespace strata::cuda_backend
