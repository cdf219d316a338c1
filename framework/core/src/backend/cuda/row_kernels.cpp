// CUDA kernels of the fused row ops: softmax, cross-entropy, SwiGLU, RMSNorm, LayerNorm
// (RoPE is registered with its own family). Twin of backend/cpu/row_kernels.cpp: the
// kernels take the CPU kernels' argument structs, filled the same way.
#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/norms.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/swiglu.h"

namespace strata::cuda_backend {

namespace cuda = kernels::cuda;

namespace {

void softmax(const SoftmaxCall& c) {
  dispatch_floating(c.out->dtype(), "softmax", [&](auto type) {
    check(cuda::softmax_fwd_cuda(softmax_args<decltype(type)>(c), c.log, device_of(*c.out)),
          c.log ? "log_softmax" : "softmax", *c.out);
  });
}

void softmax_backward(const SoftmaxCall& c) {
  dispatch_floating(c.out->dtype(), "softmax backward", [&](auto type) {
    check(cuda::softmax_bwd_cuda(softmax_args<decltype(type)>(c), c.log, device_of(*c.out)),
          c.log ? "log_softmax backward" : "softmax backward", *c.out);
  });
}

void cross_entropy(const CrossEntropyCall& c) {
  dispatch_floating(c.logits->dtype(), "cross_entropy", [&](auto type) {
    check(cuda::cross_entropy_fwd_cuda(cross_entropy_args<decltype(type)>(c), device_of(*c.logits)), "cross_entropy",
          *c.logits);
  });
}

void cross_entropy_backward(const CrossEntropyCall& c) {
  dispatch_floating(c.logits->dtype(), "cross_entropy backward", [&](auto type) {
    check(cuda::cross_entropy_bwd_cuda(cross_entropy_args<decltype(type)>(c), device_of(*c.logits)),
          "cross_entropy backward", *c.logits);
  });
}

void swiglu(const SwigluCall& c) {
  dispatch_floating(c.gate->dtype(), "swiglu", [&](auto type) {
    check(cuda::swiglu_fwd_cuda(swiglu_args<decltype(type)>(c), device_of(*c.gate)), "swiglu", *c.gate);
  });
}

void swiglu_backward(const SwigluCall& c) {
  dispatch_floating(c.gate->dtype(), "swiglu backward", [&](auto type) {
    check(cuda::swiglu_bwd_cuda(swiglu_args<decltype(type)>(c), device_of(*c.gate)), "swiglu backward", *c.gate);
  });
}

void rmsnorm(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "rmsnorm", [&](auto type) {
    check(cuda::rmsnorm_fwd_cuda(norm_args<cuda::RmsNormArgs<decltype(type)>>(c), device_of(*c.x)), "rmsnorm", *c.x);
  });
}

void rmsnorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "rmsnorm backward", [&](auto type) {
    check(cuda::rmsnorm_bwd_cuda(norm_args<cuda::RmsNormArgs<decltype(type)>>(c), device_of(*c.x)), "rmsnorm backward",
          *c.x);
  });
}

void layernorm(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm", [&](auto type) {
    check(cuda::layernorm_fwd_cuda(norm_args<cuda::LayerNormArgs<decltype(type)>>(c), device_of(*c.x)), "layernorm",
          *c.x);
  });
}

void layernorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm backward", [&](auto type) {
    check(cuda::layernorm_bwd_cuda(norm_args<cuda::LayerNormArgs<decltype(type)>>(c), device_of(*c.x)),
          "layernorm backward", *c.x);
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
}

}  // namespace strata::cuda_backend
