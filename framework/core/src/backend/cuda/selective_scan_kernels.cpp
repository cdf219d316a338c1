// CUDA kernels of the selective scan entries (kernels/cuda/selective_scan.h): forward and
// backward, f32 and f64, d_state up to kernels::cuda::kScanMaxState (a larger state is
// left to other kernels: NotImplementedError on a CUDA tensor). The forward's `saved` is
// this backend's checkpoints, [B, chunks, N, D]; the backward's workspace is allocated
// here, on the call's device. Deterministic: no atomics.
#include <string>

#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/selective_scan.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

std::int64_t checkpoint_size(const SelectiveScanCall& c) {
  return cu::selective_scan_checkpoint_size_cuda(c.batch, c.seq_len, c.channels, c.d_state);
}

bool takes(const SelectiveScanCall& c) { return c.d_state <= cu::kScanMaxState; }

void selective_scan(const SelectiveScanCall& c) {
  const DType dtype = c.u->dtype();
  const Device device = c.u->device();
  if (c.save_for_backward) *c.saved = Tensor::empty({checkpoint_size(c)}, dtype, device);
  const Tensor seq_start = host_values_on_device(c.seq_start, device);
  dispatch_floating(dtype, "selective_scan", [&](auto type) {
    using T = decltype(type);
    cu::SelectiveScanArgs<T> a = scan_args<T>(c, in<std::int64_t>(&seq_start));
    a.checkpoints = c.save_for_backward ? c.saved->data<T>() : nullptr;
    check(cu::selective_scan_fwd_cuda(a, device.index), "selective_scan", *c.u);
  });
}

void selective_scan_backward(const SelectiveScanCall& c) {
  const DType dtype = c.u->dtype();
  const Device device = c.u->device();
  // The checkpoints must be this backend's: a CUDA forward over the same sizes.
  if (!c.saved || !c.saved->defined() || c.saved->numel() != checkpoint_size(c) || c.saved->dtype() != dtype ||
      c.saved->device() != device)
    throw ValueError("selective_scan_backward on " + device.to_string() +
                         ": the saved checkpoints do not come from the CUDA forward over these inputs",
                     "run the forward and the backward on the same device");
  Tensor workspace = Tensor::empty(
      {cu::selective_scan_bwd_workspace_size_cuda(c.batch, c.seq_len, c.channels, c.d_state)}, dtype, device);
  const Tensor seq_start = host_values_on_device(c.seq_start, device);
  dispatch_floating(dtype, "selective_scan backward", [&](auto type) {
    using T = decltype(type);
    cu::SelectiveScanArgs<T> a = scan_args<T>(c, in<std::int64_t>(&seq_start));
    a.checkpoints = c.saved->data<T>();
    a.workspace = workspace.data<T>();
    check(cu::selective_scan_bwd_cuda(a, device.index), "selective_scan_backward", *c.u);
  });
}

}  // namespace

void register_selective_scan(CoreKernels& k) {
  add(k.selective_scan, kFloating, selective_scan, takes);
  add(k.selective_scan_backward, kFloating, selective_scan_backward, takes);
}

}  // namespace strata::cuda_backend
