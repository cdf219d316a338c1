// CUDA kernels of the fused row ops: softmax, cross-entropy, SwiGLU, RMSNorm, LayerNorm
// (RoPE is registered with its own family). Twin of backend/cpu/row_kernels.cpp: the
// kernels take the CPU kernels' argument structs, filled the same way.
#include <type_traits>

#include "backend/cuda/cuda_backend.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/norms.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/swiglu.h"

namespace strata::cuda_backend {

namespace cuda = kernels::cuda;

namespace {

int device_of(const Tensor& t) { return t.device().index; }

void softmax(const SoftmaxCall& c) {
  dispatch_floating(c.out->dtype(), "softmax", [&](auto type) {
    using T = decltype(type);
    const cuda::SoftmaxArgs<T> args{c.rows, c.cols, c.x->data<T>(), nullptr, c.out->data<T>()};
    check(cuda::softmax_fwd_cuda(args, c.log, device_of(*c.out)), c.log ? "log_softmax" : "softmax", *c.out);
  });
}

void softmax_backward(const SoftmaxCall& c) {
  dispatch_floating(c.out->dtype(), "softmax backward", [&](auto type) {
    using T = decltype(type);
    const cuda::SoftmaxArgs<T> args{c.rows, c.cols, c.x->data<T>(), c.g->data<T>(), c.out->data<T>()};
    check(cuda::softmax_bwd_cuda(args, c.log, device_of(*c.out)),
          c.log ? "log_softmax backward" : "softmax backward", *c.out);
  });
}

template <class T>
cuda::CrossEntropyArgs<T> cross_entropy_args(const CrossEntropyCall& c) {
  cuda::CrossEntropyArgs<T> args;
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
    cuda::CrossEntropyArgs<T> args = cross_entropy_args<T>(c);
    args.loss = c.loss->data<T>();
    check(cuda::cross_entropy_fwd_cuda(args, device_of(*c.logits)), "cross_entropy", *c.logits);
  });
}

void cross_entropy_backward(const CrossEntropyCall& c) {
  dispatch_floating(c.logits->dtype(), "cross_entropy backward", [&](auto type) {
    using T = decltype(type);
    cuda::CrossEntropyArgs<T> args = cross_entropy_args<T>(c);
    args.grad = c.grad->data<T>();
    args.grad_stride = c.grad_stride;
    args.dlogits = c.dlogits->data<T>();
    check(cuda::cross_entropy_bwd_cuda(args, device_of(*c.logits)), "cross_entropy backward", *c.logits);
  });
}

template <class T>
cuda::SwigluArgs<T> swiglu_args(const SwigluCall& c) {
  cuda::SwigluArgs<T> args;
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
    cuda::SwigluArgs<T> args = swiglu_args<T>(c);
    args.out = c.out->data<T>();
    check(cuda::swiglu_fwd_cuda(args, device_of(*c.gate)), "swiglu", *c.gate);
  });
}

void swiglu_backward(const SwigluCall& c) {
  dispatch_floating(c.gate->dtype(), "swiglu backward", [&](auto type) {
    using T = decltype(type);
    cuda::SwigluArgs<T> args = swiglu_args<T>(c);
    args.g = c.g->data<T>();
    args.dgate = c.dgate->data<T>();
    args.dup = c.dup->data<T>() + c.up_offset;  // dup may be dgate's tensor (fused layout)
    check(cuda::swiglu_bwd_cuda(args, device_of(*c.gate)), "swiglu backward", *c.gate);
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
    auto args = norm_args<cuda::RmsNormArgs<T>>(c);
    args.y = c.y->data<T>();
    check(cuda::rmsnorm_fwd_cuda(args, device_of(*c.x)), "rmsnorm", *c.x);
  });
}

void rmsnorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "rmsnorm backward", [&](auto type) {
    using T = decltype(type);
    auto args = norm_args<cuda::RmsNormArgs<T>>(c);
    args.g = c.g->data<T>();
    args.dx = c.dx->data<T>();
    args.dweight = out<T>(c.dweight);
    check(cuda::rmsnorm_bwd_cuda(args, device_of(*c.x)), "rmsnorm backward", *c.x);
  });
}

void layernorm(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm", [&](auto type) {
    using T = decltype(type);
    auto args = norm_args<cuda::LayerNormArgs<T>>(c);
    args.bias = in<T>(c.bias);
    args.mean = c.mean->data<T>();
    args.y = c.y->data<T>();
    check(cuda::layernorm_fwd_cuda(args, device_of(*c.x)), "layernorm", *c.x);
  });
}

void layernorm_backward(const NormCall& c) {
  dispatch_floating(c.x->dtype(), "layernorm backward", [&](auto type) {
    using T = decltype(type);
    auto args = norm_args<cuda::LayerNormArgs<T>>(c);
    args.mean = c.mean->data<T>();
    args.g = c.g->data<T>();
    args.dx = c.dx->data<T>();
    args.dweight = out<T>(c.dweight);
    args.dbias = out<T>(c.dbias);
    check(cuda::layernorm_bwd_cuda(args, device_of(*c.x)), "layernorm backward", *c.x);
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
