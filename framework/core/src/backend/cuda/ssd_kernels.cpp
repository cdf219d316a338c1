// CUDA kernels of the SSD scan entries (Mamba-2), forward and backward: the recurrence, run
// by the selective scan's kernels under the SSD layout (kernels/cuda/ssd.h), for d_state <=
// 256; larger states have no CUDA kernel.
#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/ssd.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

void ssd(const SsdCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.x->device());
  // The state entering every chunk, for the backward (in this kernel's layout, not the CPU's).
  if (c.save_for_backward)
    *c.saved = Tensor::empty({cu::ssd_checkpoints_size(c.batch, c.seq_len, c.heads, c.head_dim, c.d_state)},
                             c.x->dtype(), c.x->device());
  dispatch_floating(c.x->dtype(), "ssd", [&](auto type) {
    using T = decltype(type);
    cu::SsdArgs<T> a = ssd_args<T>(c, in<std::int64_t>(&seq_start));
    a.y = c.y->data<T>();
    a.final_state = c.final_state->data<T>();
    a.chunk_states = c.save_for_backward ? c.saved->data<T>() : nullptr;
    check(cu::ssd_fwd_cuda(a, device_of(*c.x)), "ssd", *c.x);
  });
}

void ssd_backward(const SsdCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.x->device());
  Tensor workspace =
      Tensor::empty({cu::ssd_bwd_workspace_elements(c.batch, c.seq_len, c.heads, c.head_dim, c.groups, c.d_state)},
                    c.x->dtype(), c.x->device());
  dispatch_floating(c.x->dtype(), "ssd backward", [&](auto type) {
    using T = decltype(type);
    cu::SsdArgs<T> a = ssd_backward_args<T>(c, in<std::int64_t>(&seq_start));
    a.workspace = workspace.data<T>();
    check(cu::ssd_bwd_cuda(a, device_of(*c.x)), "ssd backward", *c.x);
  });
}

bool fits(const SsdCall& c) { return c.d_state <= cu::kSsdMaxState; }

}  // namespace

void register_ssd(CoreKernels& k) {
  add(k.ssd, kFloating, ssd, fits);
  add(k.ssd_backward, kFloating, ssd_backward, fits);
}

}  // namespace strata::cuda_backend
