// CPU kernels of the fused row ops: softmax, cross-entropy, SwiGLU, RMSNorm, LayerNorm, RoPE.
#include "backend/cpu/cpu_backend.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/swiglu.h"

namespace strata::cpu_backend {

namespace cpu = kernels::cpu;

namespace {

void softmax(const SoftmaxCall& c) {
  dispatch_floating(c.out->dtype(), "softmax", [&](auto type) {
    using T = decltype(type);
    const cpu::SoftmaxArgs<T> args{c.rows, c.cols, c.x->data<T>(), nullptr, c.out->data<T>()};
    c.log ? cpu::log_softmax_fwd_cpu(args) : cpu::softmax_fwd_cpu(args);
  });
}

void softmax_backward(const SoftmaxCall& c) {
  dispatch_floating(c.out->dtype(), "softmax backward", [&](auto type) {
    using T = decltype(type);
    const cpu::SoftmaxArgs<T> args{c.rows, c.cols, c.x->data<T>(), c.g->data<T>(), c.out->data<T>()};
    c.log ? cpu::log_softmax_bwd_cpu(args) : cpu::softmax_bwd_cpu(args);
  });
}

template <class T>
cpu::CrossEntropyArgs<T> cross_entropy_args(const CrossEntropyCall& c) {
  cpu::CrossEntropyArgs<T> args;
  args.rows = c.targets->numel();
  args.classes = c.logits->size(-1);
  args.logits = c.logits->data<T>();
  args.targets = c.targets->data<std::int64_t>();
  args.ignore_index = c.ignore_index;
  args.label_smoothing = T(c.label_smoothing);
  args.lse = c.lse->data<T>();
  return args;
}

void cross_entropy(const CrossEntropyCall& c) {
  dispatch_floating(c.logits->dtype(), "cross_entropy", [&](auto type) {
    using T = decltype(type);
    cpu::CrossEntropyArgs<T> args = cross_entropy_args<T>(c);
    args.loss = c.loss->data<T>();
    cpu::cross_entropy_fwd_cpu(args);
  });
}

void cross_entropy_backward(const CrossEntropyCall& c) {
  dispatch_floating(c.logits->dtype(), "cross_entropy backward", [&](auto type) {
    using T = decltype(type);
    cpu::CrossEntropyArgs<T> args = cross_entropy_args<T>(c);
    args.grad = c.grad->data<T>();
    args.grad_stride = c.grad_stride;
    args.dlogits = c.dlogits->data<T>();
    cpu::cross_entropy_bwd_cpu(args);
  });
}

template <class T>
cpu::SwigluArgs<T> swiglu_args(const SwigluCall& c) {
  cpu::SwigluArgs<T> args;
  args.rows = c.rows;
  args.cols = c.cols;
  args.gate = c.gate->data<T>();
  args.up = c.up->data<T>() + c.up_offset;
  args.in_stride = c.in_stride;
  return args;
}

void swiglu(const SwigluCall& c) {
  dispatch_floating(c.gate->dtype(), "swiglu", [&](auto type) {
    using T = decltype(type);
    cpu::SwigluArgs<T> args = swiglu_args<T>(c);
    args.out = c.out->data<T>();
    cpu::swiglu_fwd_cpu(args);
  });
}

void swiglu_backward(const SwigluCall& c) {
  dispatch_floating(c.gate->dtype(), "swiglu backward", [&](auto type) {
    using T = decltype(type);
    cpu::SwigluArgs<T> args = swiglu_args<T>(c);
    args.g = c.g->data<T>();
    args.dgate = c.dgate->data<T>();
    args.dup = c.dup->data<T>() + c.up_offset;
    cpu::swiglu_bwd_cpu(args);
  });
}

template <class Args>
Args norm_args(const NormCall& c) {
  using T = std::remove_cvref_t<decltype(*Args{}.x)>;
  Args args;
  args.rows = c.rows;
  args.cols = c.cols;
  args.eps = T(c.eps);
  args.x = c.x->data<T>();
  args.weight = in<T>(c.weight);
  args.rstd = c.rstd->data<T>();
  return args;
}

void rmsnorm(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "rmsnorm", [&](auto type) {
    using T = decltype(type);
    auto args = norm_args<cpu::RmsNormArgs<T>>(c);
    args.y = c.y->data<T>();
    cpu::rmsnorm_fwd_cpu(args);
  });
}

void rmsnorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "rmsnorm backward", [&](auto type) {
    using T = decltype(type);
    auto args = norm_args<cpu::RmsNormArgs<T>>(c);
    args.g = c.g->data<T>();
    args.dx = c.dx->data<T>();
    args.dweight = out<T>(c.dweight);
    cpu::rmsnorm_bwd_cpu(args);
  });
}

void layernorm(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm", [&](auto type) {
    using T = decltype(type);
    auto args = norm_args<cpu::LayerNormArgs<T>>(c);
    args.bias = in<T>(c.bias);
    args.mean = c.mean->data<T>();
    args.y = c.y->data<T>();
    cpu::layernorm_fwd_cpu(args);
  });
}

void layernorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm backward", [&](auto type) {
    using T = decltype(type);
    auto args = norm_args<cpu::LayerNormArgs<T>>(c);
    args.mean = c.mean->data<T>();
    args.g = c.g->data<T>();
    args.dx = c.dx->data<T>();
    args.dweight = out<T>(c.dweight);
    args.dbias = out<T>(c.dbias);
    cpu::layernorm_bwd_cpu(args);
  });
}

void rope(const RopeCall& c) {
  const Tensor& x = *c.x;
  dispatch_floating(x.dtype(), "rope", [&](auto type) {
    using T = decltype(type);
    cpu::RopeArgs<T> args;
    args.batch = x.size(0);
    args.seq_len = x.size(1);
    args.n_heads = x.size(2);
    args.head_dim = x.size(3);
    args.rotary_dim = c.rotary_dim;
    args.position_offset = c.position_offset;
    args.positions = c.positions ? c.positions->data<std::int64_t>() : nullptr;
    args.theta = c.theta;
    args.inv_freq = c.inv_freq;
    args.scale = c.scale;
    args.interleaved = c.interleaved;
    args.inverse = c.inverse;
    args.x = x.data<T>();
    args.x_stride_b = x.strides()[0];
    args.x_stride_t = x.strides()[1];
    args.out = c.out->data<T>();
    cpu::rope_cpu(args);
  });
}

}  // namespace

void register_rows(CoreKernels& k) {
  add(k.softmax, kFloating, softmax);
  add(k.softmax_backward, kFloating, softmax_backward);
  add(k.cross_entropy, kFloating, cross_entropy);
  add(k.cross_entropy_backward, kFloating, cross_entropy_backward);
  add(k.swiglu, kFloating, swiglu);
  add(k.swiglu_backward, kFloating, swiglu_backward);
  add(k.rmsnorm, kFloating, rmsnorm);
  add(k.rmsnorm_backward, kFloating, rmsnorm_backward);
  add(k.layernorm, kFloating, layernorm);
  add(k.layernorm_backward, kFloating, layernorm_backward);
  add(k.rope, kFloating, rope);
}

}  // namespace strata::cpu_backend
