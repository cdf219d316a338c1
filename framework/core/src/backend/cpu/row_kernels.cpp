// CPU kernels of the fused row ops: softmax, cross-entropy, SwiGLU, RMSNorm, LayerNorm, RoPE.
#include "backend/cpu/cpu_backend.h"
#include "backend/kernel_args.h"
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
    const auto args = softmax_args<decltype(type)>(c);
    c.log ? cpu::log_softmax_fwd_cpu(args) : cpu::softmax_fwd_cpu(args);
  });
}

void softmax_backward(const SoftmaxCall& c) {
  dispatch_floating(c.out->dtype(), "softmax backward", [&](auto type) {
    const auto args = softmax_args<decltype(type)>(c);
    c.log ? cpu::log_softmax_bwd_cpu(args) : cpu::softmax_bwd_cpu(args);
  });
}

void cross_entropy(const CrossEntropyCall& c) {
  dispatch_floating(c.logits->dtype(), "cross_entropy",
                    [&](auto type) { cpu::cross_entropy_fwd_cpu(cross_entropy_args<decltype(type)>(c)); });
}

void cross_entropy_backward(const CrossEntropyCall& c) {
  dispatch_floating(c.logits->dtype(), "cross_entropy backward",
                    [&](auto type) { cpu::cross_entropy_bwd_cpu(cross_entropy_args<decltype(type)>(c)); });
}

void swiglu(const SwigluCall& c) {
  dispatch_floating(c.gate->dtype(), "swiglu", [&](auto type) { cpu::swiglu_fwd_cpu(swiglu_args<decltype(type)>(c)); });
}

void swiglu_backward(const SwigluCall& c) {
  dispatch_floating(c.gate->dtype(), "swiglu backward",
                    [&](auto type) { cpu::swiglu_bwd_cpu(swiglu_args<decltype(type)>(c)); });
}

void rmsnorm(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "rmsnorm",
                    [&](auto type) { cpu::rmsnorm_fwd_cpu(norm_args<cpu::RmsNormArgs<decltype(type)>>(c)); });
}

void rmsnorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "rmsnorm backward",
                    [&](auto type) { cpu::rmsnorm_bwd_cpu(norm_args<cpu::RmsNormArgs<decltype(type)>>(c)); });
}

void layernorm(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm",
                    [&](auto type) { cpu::layernorm_fwd_cpu(norm_args<cpu::LayerNormArgs<decltype(type)>>(c)); });
}

void layernorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm backward",
                    [&](auto type) { cpu::layernorm_bwd_cpu(norm_args<cpu::LayerNormArgs<decltype(type)>>(c)); });
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
