// CPU kernels of the elementwise entries: binary, affine, axpy, unary (and backward),
// copy, fill, random fills, sum.
#include "backend/cpu/cpu_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cpu/binary.h"
#include "kernels/cpu/copy.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/unary.h"
#include "tensor_internal.h"

namespace strata::cpu_backend {

namespace cpu = kernels::cpu;

namespace {

void binary(const BinaryCall& c) {
  dispatch_floating(c.out->dtype(), "binary",
                    [&](auto type) { cpu::binary_cpu(c.op, binary_args<decltype(type)>(c)); });
}

void affine(const AffineCall& c) {
  dispatch_floating(c.out->dtype(), "affine", [&](auto type) {
    using T = decltype(type);
    cpu::affine_cpu<T>(c.x->data<T>(), c.out->data<T>(), c.out->numel(), T(c.alpha), T(c.beta));
  });
}

void axpy(const AxpyCall& c) {
  dispatch_floating(c.y->dtype(), "axpy", [&](auto type) {
    using T = decltype(type);
    cpu::axpy_cpu<T>(c.x->data<T>(), c.y->data<T>(), c.y->numel(), T(c.alpha));
  });
}

void unary(const UnaryCall& c) {
  dispatch_floating(c.y->dtype(), "unary", [&](auto type) {
    using T = decltype(type);
    cpu::unary_fwd_cpu<T>(c.op, c.x->data<T>(), c.y->data<T>(), c.y->numel(), c.params);
  });
}

void unary_backward(const UnaryBackwardCall& c) {
  dispatch_floating(c.dx->dtype(), "unary backward", [&](auto type) {
    using T = decltype(type);
    const T* v = c.saved->data<T>();
    const bool uses_y = kernels::unary_bwd_uses_output(c.op);
    cpu::unary_bwd_cpu<T>(c.op, uses_y ? nullptr : v, uses_y ? v : nullptr, c.g->data<T>(), c.dx->data<T>(),
                          c.dx->numel(), c.params);
  });
}

void copy(const CopyCall& c) {
  const Tensor& s = *c.src;
  Tensor& d = *c.dst;
  detail::dispatch_any(s.dtype(), [&](auto src_type) {
    using S = decltype(src_type);
    detail::dispatch_any(d.dtype(), [&](auto dst_type) {
      using D = decltype(dst_type);
      cpu::CopyArgs<S, D> args;
      args.src = s.data<S>();
      args.dst = d.data<D>();
      args.rank = d.rank();
      for (int i = 0; i < d.rank(); ++i) {
        args.sizes[i] = d.shape()[i];
        args.src_strides[i] = s.strides()[i];
        args.dst_strides[i] = d.strides()[i];
      }
      cpu::copy_cpu(args);
    });
  });
}

void fill(const FillCall& c) {
  detail::dispatch_any(c.dst->dtype(), [&](auto type) {
    using T = decltype(type);
    cpu::fill_cpu<T>(c.dst->data<T>(), c.dst->numel(), T(c.value));
  });
}

void random_fill(const RandomFillCall& c) {
  Tensor& t = *c.out;
  if (c.distribution == Distribution::integers) {
    cpu::randint_fill_cpu(t.data<std::int64_t>(), t.numel(), c.key, c.first_counter, c.low, c.high);
    return;
  }
  dispatch_floating(t.dtype(), "random_fill", [&](auto type) {
    using T = decltype(type);
    if (c.distribution == Distribution::normal)
      cpu::normal_fill_cpu<T>(t.data<T>(), t.numel(), c.key, c.first_counter, T(c.a), T(c.b));
    else
      cpu::uniform_fill_cpu<T>(t.data<T>(), t.numel(), c.key, c.first_counter, T(c.a), T(c.b));
  });
}

void sum(const SumCall& c) {
  dispatch_floating(c.out->dtype(), "sum", [&](auto type) { cpu::sum_cpu(sum_args<decltype(type)>(c)); });
}

}  // namespace

void register_elementwise(CoreKernels& k) {
  add(k.binary, kFloating, binary);
  add(k.affine, kFloating, affine);
  add(k.axpy, kFloating, axpy);
  add(k.unary, kFloating, unary);
  add(k.unary_backward, kFloating, unary_backward);
  add(k.copy, kStorage, copy);
  add(k.fill, kStorage, fill);
  add(k.random_fill, kAll, random_fill);
  add(k.sum, kFloating, sum);
}

}  // namespace strata::cpu_backend
