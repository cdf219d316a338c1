// CUDA kernels of the gated delta rule entries (Gated DeltaNet), forward and backward: the
// recurrence step by step (kernels/cuda/gated_delta_rule.h), for key_dim <= 128 and
// value_dim <= 256; larger heads have no CUDA kernel.
#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/gated_delta_rule.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

void gated_delta_rule(const GatedDeltaRuleCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.q->device());
  // The states every 64 steps, for the backward (in this kernel's layout, not the CPU's).
  if (c.save_for_backward)
    *c.saved = Tensor::empty(
        {cu::gated_delta_rule_checkpoints_size(c.batch, c.seq_len, c.heads, c.key_dim, c.value_dim)}, c.q->dtype(),
        c.q->device());
  dispatch_floating(c.q->dtype(), "gated_delta_rule", [&](auto type) {
    using T = decltype(type);
    cu::GatedDeltaRuleArgs<T> a = gated_delta_rule_args<T>(c, in<std::int64_t>(&seq_start));
    a.o = c.o->data<T>();
    a.final_state = c.final_state->data<T>();
    a.chunk_states = c.save_for_backward ? c.saved->data<T>() : nullptr;
    check(cu::gated_delta_rule_fwd_cuda(a, device_of(*c.q)), "gated_delta_rule", *c.q);
  });
}

void gated_delta_rule_backward(const GatedDeltaRuleCall& c) {
  const Tensor seq_start = host_values_on_device(c.seq_start, c.q->device());
  Tensor workspace =
      Tensor::empty({cu::gated_delta_rule_bwd_workspace_elements(c.batch, c.seq_len, c.heads, c.key_dim, c.value_dim)},
                    c.q->dtype(), c.q->device());
  dispatch_floating(c.q->dtype(), "gated_delta_rule backward", [&](auto type) {
    using T = decltype(type);
    cu::GatedDeltaRuleArgs<T> a = gated_delta_rule_backward_args<T>(c, in<std::int64_t>(&seq_start));
    a.workspace = workspace.data<T>();
    check(cu::gated_delta_rule_bwd_cuda(a, device_of(*c.q)), "gated_delta_rule backward", *c.q);
  });
}

bool fits(const GatedDeltaRuleCall& c) {
  return c.key_dim <= cu::kDeltaRuleMaxKeyDim && c.value_dim <= cu::kDeltaRuleMaxValueDim;
}

}  // namespace

void register_gated_delta_rule(CoreKernels& k) {
  add(k.gated_delta_rule, kFloating, gated_delta_rule, fits);
  add(k.gated_delta_rule_backward, kFloating, gated_delta_rule_backward, fits);
}

}  // namespace strata::cuda_backend
