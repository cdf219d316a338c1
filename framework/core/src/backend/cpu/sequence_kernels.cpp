// CPU kernels of the sequence mixers' fused ops: flash attention, the selective scan and
// the causal depthwise conv, forward and backward. Workspaces and the scan's saved chunk
// states are sized here: they are this backend's business, not the op's.
#include <type_traits>

#include "backend/cpu/cpu_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/causal_conv1d.h"
#include "kernels/cpu/gated_delta_rule.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/selective_scan.h"
#include "kernels/cpu/ssd.h"

namespace strata::cpu_backend {

namespace cpu = kernels::cpu;

namespace {

// The documents' starts where the CPU kernels read them: the call's own.
const std::int64_t* host_starts(const Tensor* seq_start) {
  return seq_start ? seq_start->data<std::int64_t>() : nullptr;
}

void attention(const AttentionCall& c) {
  dispatch_floating(c.q->dtype(), "attention", [&](auto type) {
    cpu::attention_fwd_cpu(attention_args<decltype(type)>(c, host_starts(c.seq_start)));
  });
}

void attention_backward(const AttentionCall& c) {
  dispatch_floating(c.q->dtype(), "attention backward", [&](auto type) {
    using T = decltype(type);
    cpu::AttentionGradArgs<T> g;
    g.fwd = attention_args<T>(c, host_starts(c.seq_start));
    g.dout = c.dout->data<T>();
    g.dq = c.dq->data<T>();
    g.dk = c.dk->data<T>();
    g.dv = c.dv->data<T>();
    const std::int64_t workspace_size = cpu::attention_bwd_workspace_size(g.fwd);
    Tensor workspace = Tensor::empty({workspace_size}, c.q->dtype());
    g.workspace = workspace_size ? workspace.data<T>() : nullptr;
    cpu::attention_bwd_cpu(g);
  });
}

void selective_scan(const SelectiveScanCall& c) {
  const DType dtype = c.u->dtype();
  if (c.save_for_backward)
    *c.saved = Tensor::empty({cpu::selective_scan_checkpoint_size(c.batch, c.seq_len, c.channels, c.d_state)}, dtype);
  dispatch_floating(dtype, "selective_scan", [&](auto type) {
    using T = decltype(type);
    cpu::SelectiveScanArgs<T> a = scan_args<T>(c, host_starts(c.seq_start));
    a.checkpoints = c.save_for_backward ? c.saved->data<T>() : nullptr;
    cpu::selective_scan_fwd_cpu(a);
  });
}

// Per-thread scratch of a kernel threaded over (batch, head) (kernels/cpu/scratch.h): a
// slice of `per_thread` elements for each CPU thread, from the caching allocator, so that
// the kernel allocates nothing per call.
struct ThreadScratch {
  int threads = 1;
  Tensor buffer;
  template <class Args>
  void give(Args& a) {
    a.scratch = buffer.data<std::remove_pointer_t<decltype(a.scratch)>>();
    a.scratch_threads = threads;
  }
};

ThreadScratch thread_scratch(std::int64_t per_thread, DType dtype) {
  const int threads = cpu::cpu_threads();
  return {threads, Tensor::empty({threads * per_thread}, dtype)};
}

void ssd(const SsdCall& c) {
  const DType dtype = c.x->dtype();
  const std::int64_t* starts = host_starts(c.seq_start);
  *c.saved = Tensor::empty(
      {cpu::ssd_chunk_states_size(c.batch, c.seq_len, c.heads, c.head_dim, c.d_state, c.chunk, starts)}, dtype);
  ThreadScratch scratch = thread_scratch(cpu::ssd_scratch_size(c.chunk, c.head_dim, c.d_state, false), dtype);
  dispatch_floating(dtype, "ssd", [&](auto type) {
    using T = decltype(type);
    cpu::SsdArgs<T> a = ssd_args<T>(c, starts);
    scratch.give(a);
    a.y = c.y->data<T>();
    a.final_state = c.final_state->data<T>();
    a.chunk_states = c.saved->data<T>();
    cpu::ssd_fwd_cpu(a);
  });
}

void ssd_backward(const SsdCall& c) {
  const DType dtype = c.x->dtype();
  Tensor workspace = Tensor::empty({cpu::ssd_bwd_workspace_size(c.batch, c.seq_len, c.heads, c.d_state)}, dtype);
  ThreadScratch scratch = thread_scratch(cpu::ssd_scratch_size(c.chunk, c.head_dim, c.d_state, true), dtype);
  dispatch_floating(dtype, "ssd backward", [&](auto type) {
    using T = decltype(type);
    cpu::SsdArgs<T> a = ssd_backward_args<T>(c, host_starts(c.seq_start));
    scratch.give(a);
    a.workspace = workspace.data<T>();
    cpu::ssd_bwd_cpu(a);
  });
}

void gated_delta_rule(const GatedDeltaRuleCall& c) {
  const DType dtype = c.q->dtype();
  const std::int64_t* starts = host_starts(c.seq_start);
  if (c.save_for_backward)
    *c.saved = Tensor::empty(
        {cpu::gated_delta_rule_chunk_states_size(c.batch, c.seq_len, c.heads, c.key_dim, c.value_dim, c.chunk, starts)},
        dtype);
  ThreadScratch scratch = thread_scratch(
      cpu::gated_delta_rule_scratch_size(c.batch, c.seq_len, c.chunk, starts, c.key_dim, c.value_dim, false), dtype);
  dispatch_floating(dtype, "gated_delta_rule", [&](auto type) {
    using T = decltype(type);
    cpu::GatedDeltaRuleArgs<T> a = gated_delta_rule_args<T>(c, starts);
    scratch.give(a);
    a.o = c.o->data<T>();
    a.final_state = c.final_state->data<T>();
    a.chunk_states = c.save_for_backward ? c.saved->data<T>() : nullptr;
    cpu::gated_delta_rule_fwd_cpu(a);
  });
}

void gated_delta_rule_backward(const GatedDeltaRuleCall& c) {
  const DType dtype = c.q->dtype();
  Tensor workspace =
      Tensor::empty({cpu::gated_delta_rule_bwd_workspace_size(c.batch, c.seq_len, c.heads, c.key_dim)}, dtype);
  const std::int64_t* starts = host_starts(c.seq_start);
  ThreadScratch scratch = thread_scratch(
      cpu::gated_delta_rule_scratch_size(c.batch, c.seq_len, c.chunk, starts, c.key_dim, c.value_dim, true), dtype);
  dispatch_floating(dtype, "gated_delta_rule backward", [&](auto type) {
    using T = decltype(type);
    cpu::GatedDeltaRuleArgs<T> a = gated_delta_rule_backward_args<T>(c, starts);
    scratch.give(a);
    a.workspace = workspace.data<T>();
    cpu::gated_delta_rule_bwd_cpu(a);
  });
}

void selective_scan_backward(const SelectiveScanCall& c) {
  const DType dtype = c.u->dtype();
  Tensor workspace =
      Tensor::empty({cpu::selective_scan_bwd_workspace_size(c.batch, c.seq_len, c.channels, c.d_state)}, dtype);
  dispatch_floating(dtype, "selective_scan backward", [&](auto type) {
    using T = decltype(type);
    cpu::SelectiveScanArgs<T> a = scan_args<T>(c, host_starts(c.seq_start));
    a.checkpoints = c.saved->data<T>();
    a.workspace = workspace.data<T>();
    cpu::selective_scan_bwd_cpu(a);
  });
}

void causal_conv1d(const CausalConvCall& c) {
  dispatch_floating(c.x->dtype(), "causal_conv1d", [&](auto type) {
    using T = decltype(type);
    cpu::causal_conv1d_fwd_cpu(conv_args<T>(c, host_starts(c.seq_start)));
  });
}

void causal_conv1d_backward(const CausalConvCall& c) {
  dispatch_floating(c.x->dtype(), "causal_conv1d backward", [&](auto type) {
    using T = decltype(type);
    cpu::causal_conv1d_bwd_cpu(conv_args<T>(c, host_starts(c.seq_start)));
  });
}

}  // namespace

void register_sequence(CoreKernels& k) {
  add(k.attention, kFloating, attention);
  add(k.attention_backward, kFloating, attention_backward);
  add(k.selective_scan, kFloating, selective_scan);
  add(k.ssd, kFloating, ssd);
  add(k.ssd_backward, kFloating, ssd_backward);
  add(k.gated_delta_rule, kFloating, gated_delta_rule);
  add(k.gated_delta_rule_backward, kFloating, gated_delta_rule_backward);
  add(k.selective_scan_backward, kFloating, selective_scan_backward);
  add(k.causal_conv1d, kFloating, causal_conv1d);
  add(k.causal_conv1d_backward, kFloating, causal_conv1d_backward);
}

}  // namespace strata::cpu_backend
