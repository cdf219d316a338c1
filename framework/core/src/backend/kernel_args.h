#pragma once
// The kernels' argument structs (kernels/cpu/*.h; the CUDA kernels take the same ones)
// filled from the table's calls, for every backend: each field the call defines, forward
// and backward alike (an absent tensor gives a null pointer). A backend adds what is its
// own (workspaces, the device copy of the documents' starts) and runs its kernel.
#include <cstdint>
#include <type_traits>

#include "backend/core_kernels.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/binary.h"
#include "kernels/cpu/causal_conv1d.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/expert_slots.h"
#include "kernels/cpu/gated_delta_rule.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/selective_scan.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/ssd.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/cpu/topk.h"

namespace strata::core_kernels {

namespace kargs = kernels::cpu;

// An optional tensor's data `offset` elements in (null when absent).
template <class T>
T* out_at(Tensor* t, std::int64_t offset) {
  T* p = out<T>(t);
  return p ? p + offset : nullptr;
}

// a and b trailing-aligned to out, with stride 0 along the dims where they broadcast.
template <class T>
kargs::BinaryArgs<T> binary_args(const BinaryCall& c) {
  const Tensor &a = *c.a, &b = *c.b;
  const Tensor& o = *c.out;
  kargs::BinaryArgs<T> args;
  args.a = a.data<T>();
  args.b = b.data<T>();
  args.out = c.out->data<T>();
  args.rank = o.rank();
  for (int i = 0; i < o.rank(); ++i) {
    args.sizes[i] = o.shape()[i];
    const int ia = i - (o.rank() - a.rank()), ib = i - (o.rank() - b.rank());
    args.a_strides[i] = ia >= 0 && a.shape()[ia] != 1 ? a.strides()[ia] : 0;
    args.b_strides[i] = ib >= 0 && b.shape()[ib] != 1 ? b.strides()[ib] : 0;
  }
  return args;
}

template <class T>
kargs::SumArgs<T> sum_args(const SumCall& c) {
  return {c.x->data<T>(), c.out->data<T>(), c.outer, c.reduced, c.inner};
}

template <class T>
kargs::TopKArgs<T> topk_args(const TopKCall& c) {
  return {c.rows, c.cols, c.k, c.x->data<T>(), c.values->data<T>(), c.indices->data<std::int64_t>()};
}

// The forward's inputs; seq_start is where the backend keeps packed documents' starts (the
// host for the CPU, the device for CUDA), or null.
template <class T>
kargs::SsdArgs<T> ssd_args(const SsdCall& c, const std::int64_t* seq_start) {
  kargs::SsdArgs<T> a;
  a.batch = c.batch;
  a.seq_len = c.seq_len;
  a.heads = c.heads;
  a.head_dim = c.head_dim;
  a.groups = c.groups;
  a.d_state = c.d_state;
  a.chunk = c.chunk;
  a.x = c.x->data<T>();
  a.dt = c.dt->data<T>();
  a.A = c.A->data<T>();
  a.B = c.B->data<T>();
  a.C = c.C->data<T>();
  a.initial_state = in<T>(c.initial_state);
  a.seq_start = seq_start;
  return a;
}

// The backward's: the forward's inputs, its saved chunk states, the gradients in and out
// (workspace and scratch are the backend's).
template <class T>
kargs::SsdArgs<T> ssd_backward_args(const SsdCall& c, const std::int64_t* seq_start) {
  kargs::SsdArgs<T> a = ssd_args<T>(c, seq_start);
  a.chunk_states = c.saved->data<T>();
  a.dy = c.dy->data<T>();
  a.dfinal_state = c.dfinal_state->data<T>();
  a.dx = c.dx->data<T>();
  a.ddt = c.ddt->data<T>();
  a.dA = out<T>(c.dA);
  a.dB = out<T>(c.dB);
  a.dC = out<T>(c.dC);
  a.dinitial_state = out<T>(c.dinitial_state);
  return a;
}

// The gated delta rule's forward inputs; seq_start as for ssd_args.
template <class T>
kargs::GatedDeltaRuleArgs<T> gated_delta_rule_args(const GatedDeltaRuleCall& c, const std::int64_t* seq_start) {
  kargs::GatedDeltaRuleArgs<T> a;
  a.batch = c.batch;
  a.seq_len = c.seq_len;
  a.heads = c.heads;
  a.key_heads = c.key_heads;
  a.key_dim = c.key_dim;
  a.value_dim = c.value_dim;
  a.chunk = c.chunk;
  a.scale = T(c.scale);
  a.q = c.q->data<T>();
  a.k = c.k->data<T>();
  a.v = c.v->data<T>();
  a.g = c.g->data<T>();
  a.beta = c.beta->data<T>();
  a.initial_state = in<T>(c.initial_state);
  a.seq_start = seq_start;
  return a;
}

// The backward's: the inputs, the saved chunk states, the gradients in and out.
template <class T>
kargs::GatedDeltaRuleArgs<T> gated_delta_rule_backward_args(const GatedDeltaRuleCall& c,
                                                            const std::int64_t* seq_start) {
  kargs::GatedDeltaRuleArgs<T> a = gated_delta_rule_args<T>(c, seq_start);
  a.chunk_states = c.saved->data<T>();
  a.dout = c.dout->data<T>();
  a.dfinal_state = c.dfinal_state->data<T>();
  a.dq = c.dq->data<T>();
  a.dk = c.dk->data<T>();
  a.dv = c.dv->data<T>();
  a.dg = c.dg->data<T>();
  a.dbeta = c.dbeta->data<T>();
  a.dinitial_state = out<T>(c.dinitial_state);
  return a;
}

inline kargs::ExpertSlotsArgs expert_slots_args(const ExpertSlotsCall& c) {
  return {.slots = c.ids->numel(),
          .k = c.ids->rank() == 2 ? c.ids->size(1) : 1,
          .experts = c.experts,
          .ids = c.ids->data<std::int64_t>(),
          .summary = c.summary->data<std::int64_t>(),
          .slot = out<std::int64_t>(c.slot),
          .token = out<std::int64_t>(c.token)};
}

// The step's scalars; the tensors go to the kernel beside them.
inline kargs::AdamWArgs adamw_args(const AdamWCall& c) {
  kargs::AdamWArgs a;
  a.n = c.param->numel();
  a.lr = c.lr;
  a.beta1 = c.beta1;
  a.beta2 = c.beta2;
  a.eps = c.eps;
  a.weight_decay = c.weight_decay;
  a.step = c.step;
  return a;
}

template <class T>
kargs::SoftmaxArgs<T> softmax_args(const SoftmaxCall& c) {
  return {c.rows, c.cols, c.x->data<T>(), in<T>(c.g), c.out->data<T>()};
}

template <class T>
kargs::CrossEntropyArgs<T> cross_entropy_args(const CrossEntropyCall& c) {
  kargs::CrossEntropyArgs<T> a;
  a.rows = c.targets->numel();
  a.classes = c.logits->size(-1);
  a.logits = c.logits->data<T>();
  a.targets = c.targets->data<std::int64_t>();
  a.ignore_index = c.ignore_index;
  a.label_smoothing = T(c.label_smoothing);
  a.lse = c.lse->data<T>();
  a.loss = out<T>(c.loss);
  a.grad = in<T>(c.grad);
  a.grad_stride = c.grad_stride;
  a.dlogits = out<T>(c.dlogits);
  return a;
}

// up, dup start up_offset elements into their tensors (dup may be dgate's: the fused layout).
template <class T>
kargs::SwigluArgs<T> swiglu_args(const SwigluCall& c) {
  kargs::SwigluArgs<T> a;
  a.rows = c.rows;
  a.cols = c.cols;
  a.gate = c.gate->data<T>();
  a.up = c.up->data<T>() + c.up_offset;
  a.in_stride = c.in_stride;
  a.out = out<T>(c.out);
  a.g = in<T>(c.g);
  a.dgate = out<T>(c.dgate);
  a.dup = out_at<T>(c.dup, c.up_offset);
  return a;
}

// RmsNormArgs<T> or LayerNormArgs<T> (the LayerNorm-only fields where Args has them).
template <class Args>
Args norm_args(const NormCall& c) {
  using T = std::remove_cvref_t<decltype(*Args{}.x)>;
  Args a;
  a.rows = c.rows;
  a.cols = c.cols;
  a.eps = T(c.eps);
  a.x = c.x->data<T>();
  a.weight = in<T>(c.weight);
  a.rstd = c.rstd->data<T>();
  a.y = out<T>(c.y);
  a.g = in<T>(c.g);
  a.dx = out<T>(c.dx);
  a.dweight = out<T>(c.dweight);
  if constexpr (requires { a.mean; }) {
    a.bias = in<T>(c.bias);
    a.mean = out<T>(c.mean);
    a.dbias = out<T>(c.dbias);
  }
  return a;
}

// seq_start: the documents' starts where the kernel reads them (the call's on the CPU).
template <class T>
kargs::AttentionArgs<T> attention_args(const AttentionCall& c, const std::int64_t* seq_start) {
  kargs::AttentionArgs<T> a;
  a.batch = c.batch;
  a.q_len = c.q_len;
  a.kv_len = c.kv_len;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim;
  a.query_offset = c.query_offset;
  a.causal = c.causal;
  a.window = c.window;
  a.scale = T(c.scale);
  a.seq_start = seq_start;
  a.q = c.q->data<T>();
  a.q_stride_b = c.q->strides()[0];
  a.q_stride_t = c.q->strides()[1];
  a.k = c.k->data<T>();
  a.k_stride_b = c.k->strides()[0];
  a.k_stride_t = c.k->strides()[1];
  a.v = c.v->data<T>();
  a.v_stride_b = c.v->strides()[0];
  a.v_stride_t = c.v->strides()[1];
  a.out = c.out->data<T>();  // read-only in the backward
  a.lse = out<T>(c.lse);
  return a;
}

// Everything but the backend's checkpoints and workspace.
template <class T>
kargs::SelectiveScanArgs<T> scan_args(const SelectiveScanCall& c, const std::int64_t* seq_start) {
  kargs::SelectiveScanArgs<T> a;
  a.batch = c.batch, a.seq_len = c.seq_len, a.channels = c.channels, a.d_state = c.d_state;
  a.u = c.u->data<T>();
  a.delta = c.delta->data<T>();
  a.A = c.A->data<T>();
  a.B = c.B->data<T>();
  a.C = c.C->data<T>();
  a.D = in<T>(c.D);
  a.z = in<T>(c.z);
  a.delta_bias = in<T>(c.delta_bias);
  a.initial_state = in<T>(c.initial_state);
  a.delta_softplus = c.delta_softplus;
  a.seq_start = seq_start;
  a.y = out<T>(c.y);
  a.final_state = out<T>(c.final_state);
  a.dy = in<T>(c.dy);
  a.dfinal_state = in<T>(c.dfinal_state);
  a.du = out<T>(c.du);
  a.ddelta = out<T>(c.ddelta);
  a.dA = out<T>(c.dA);
  a.dB = out<T>(c.dB);
  a.dC = out<T>(c.dC);
  a.dD = out<T>(c.dD);
  a.dz = out<T>(c.dz);
  a.ddelta_bias = out<T>(c.ddelta_bias);
  a.dinitial_state = out<T>(c.dinitial_state);
  return a;
}

template <class T>
kargs::CausalConv1dArgs<T> conv_args(const CausalConvCall& c, const std::int64_t* seq_start) {
  kargs::CausalConv1dArgs<T> a;
  a.batch = c.batch;
  a.seq_len = c.seq_len;
  a.channels = c.channels;
  a.kernel_size = c.kernel_size;
  a.x = c.x->data<T>();
  a.weight = c.weight->data<T>();
  a.bias = in<T>(c.bias);
  a.initial = in<T>(c.initial);
  a.seq_start = seq_start;
  a.y = out<T>(c.y);
  a.dy = in<T>(c.dy);
  a.dx = out<T>(c.dx);
  a.dweight = out<T>(c.dweight);
  a.dbias = out<T>(c.dbias);
  a.dinitial = out<T>(c.dinitial);
  return a;
}

}  // namespace strata::core_kernels
