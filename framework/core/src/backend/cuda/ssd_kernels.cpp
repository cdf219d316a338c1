// CUDA kernel of the SSD scan entry (Mamba-2), forward only: ssd_backward has no CUDA
// kernel yet, so a Mamba-2 model decodes and evaluates on a GPU but does not train there
// (NotImplementedError at the backward, naming the entry).
#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/ssd.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

void ssd(const SsdCall& c) {
  const Tensor seq_start = index_on_device(c.seq_start, c.x->device());
  // No chunk states are saved (c.saved stays undefined): no CUDA backward reads them.
  dispatch_floating(c.x->dtype(), "ssd", [&](auto type) {
    using T = decltype(type);
    cu::SsdArgs<T> a = ssd_args<T>(c, in<std::int64_t>(&seq_start));
    a.y = c.y->data<T>();
    a.final_state = c.final_state->data<T>();
    check(cu::ssd_fwd_cuda(a, device_of(*c.x)), "ssd", *c.x);
  });
}

}  // namespace

void register_ssd(CoreKernels& k) {
  // d_state beyond the register array is left to no kernel: NotImplementedError names it.
  k.ssd.add({.backend = "cuda",
             .device = DeviceType::cuda,
             .dtypes = kFloating,
             .supports = [](const SsdCall& c) { return c.d_state <= cu::kSsdMaxState && c.head_dim <= 1024; },
             .run = ssd});
}

}  // namespace strata::cuda_backend
