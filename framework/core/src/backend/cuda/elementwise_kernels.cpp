// CUDA kernels of the elementwise entries: binary, affine, axpy, unary (and backward),
// copy, fill, random fills, sum. The twin of backend/cpu/elementwise_kernels.cpp: the same
// arguments, handed to kernels/cuda (elementwise.h, fill.h).
#include <cstdint>

#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/fill.h"
#include "strata/half.h"
#include "strata/shape.h"

namespace strata::cuda_backend {

namespace cuda = kernels::cuda;

namespace {

static_assert(cuda::kMaxDims >= kMaxRank, "the strided kernels take every rank a tensor can have");

void binary(const BinaryCall& c) {
  dispatch_floating(c.out->dtype(), "binary", [&](auto type) {
    check(cuda::binary_cuda(c.op, binary_args<decltype(type)>(c), device_of(*c.out)), "binary", *c.out);
  });
}

void affine(const AffineCall& c) {
  dispatch_floating(c.out->dtype(), "affine", [&](auto type) {
    using T = decltype(type);
    check(cuda::affine_cuda<T>(c.x->data<T>(), c.out->data<T>(), c.out->numel(), T(c.alpha), T(c.beta),
                               device_of(*c.out)),
          "affine", *c.out);
  });
}

void axpy(const AxpyCall& c) {
  dispatch_floating(c.y->dtype(), "axpy", [&](auto type) {
    using T = decltype(type);
    check(cuda::axpy_cuda<T>(c.x->data<T>(), c.y->data<T>(), c.y->numel(), T(c.alpha), device_of(*c.y)), "axpy", *c.y);
  });
}

void unary(const UnaryCall& c) {
  dispatch_floating(c.y->dtype(), "unary", [&](auto type) {
    using T = decltype(type);
    check(cuda::unary_fwd_cuda<T>(c.op, c.x->data<T>(), c.y->data<T>(), c.y->numel(), c.params, device_of(*c.y)),
          "unary", *c.y);
  });
}

void unary_backward(const UnaryBackwardCall& c) {
  dispatch_floating(c.dx->dtype(), "unary backward", [&](auto type) {
    using T = decltype(type);
    // saved is x or y as kernels::unary_bwd_uses_output(op) says; the kernel reads it as such
    check(cuda::unary_bwd_cuda<T>(c.op, c.saved->data<T>(), c.g->data<T>(), c.dx->data<T>(), c.dx->numel(), c.params,
                                  device_of(*c.dx)),
          "unary backward", *c.dx);
  });
}

cuda::Storage storage_of(DType t) {
  switch (t) {
    case DType::f32:
      return cuda::Storage::f32;
    case DType::f64:
      return cuda::Storage::f64;
    case DType::i64:
      return cuda::Storage::i64;
    case DType::bf16:
      return cuda::Storage::bf16;
    case DType::f16:
      return cuda::Storage::f16;
  }
  throw DTypeError("copy: unknown dtype");
}

void copy(const CopyCall& c) {
  const Tensor& s = *c.src;
  Tensor& d = *c.dst;
  cuda::CopyArgs args;
  args.src = s.raw_data();
  args.dst = d.raw_data();
  args.src_type = storage_of(s.dtype());
  args.dst_type = storage_of(d.dtype());
  args.rank = d.rank();
  for (int i = 0; i < d.rank(); ++i) {  // src already broadcast to dst's shape (stride 0 possible)
    args.sizes[i] = d.shape()[i];
    args.src_strides[i] = s.strides()[i];
    args.dst_strides[i] = d.strides()[i];
  }
  check(cuda::copy_cuda(args, device_of(d)), "copy", d);
}

// The value converted as the CPU's fill converts it (T(value)); 16-bit types as their bits.
void fill(const FillCall& c) {
  Tensor& t = *c.dst;
  const int device = device_of(t);
  const std::int64_t n = t.numel();
  std::string error;
  switch (t.dtype()) {
    case DType::f32:
      error = cuda::fill_cuda<float>(t.data<float>(), n, float(c.value), device);
      break;
    case DType::f64:
      error = cuda::fill_cuda<double>(t.data<double>(), n, c.value, device);
      break;
    case DType::i64:
      error = cuda::fill_cuda<std::int64_t>(t.data<std::int64_t>(), n, std::int64_t(c.value), device);
      break;
    case DType::bf16:
      error =
          cuda::fill_cuda<std::uint16_t>(static_cast<std::uint16_t*>(t.raw_data()), n, bfloat16(c.value).bits, device);
      break;
    case DType::f16:
      error =
          cuda::fill_cuda<std::uint16_t>(static_cast<std::uint16_t*>(t.raw_data()), n, float16(c.value).bits, device);
      break;
  }
  check(error, "fill", t);
}

void random_fill(const RandomFillCall& c) {
  Tensor& t = *c.out;
  const int device = device_of(t);
  if (c.distribution == Distribution::integers) {
    check(cuda::randint_fill_cuda(t.data<std::int64_t>(), t.numel(), c.key, c.first_counter, c.low, c.high, device),
          "random_fill", t);
    return;
  }
  dispatch_floating(t.dtype(), "random_fill", [&](auto type) {
    using T = decltype(type);
    if (c.distribution == Distribution::normal)
      check(cuda::normal_fill_cuda<T>(t.data<T>(), t.numel(), c.key, c.first_counter, T(c.a), T(c.b), device),
            "random_fill", t);
    else
      check(cuda::uniform_fill_cuda<T>(t.data<T>(), t.numel(), c.key, c.first_counter, T(c.a), T(c.b), device),
            "random_fill", t);
  });
}

void sum(const SumCall& c) {
  dispatch_floating(c.out->dtype(), "sum", [&](auto type) {
    using T = decltype(type);
    // Long reductions add chunk partials in a second pass; the workspace goes back to the
    // caching allocator on return, which is safe: later kernels on the stream run after these.
    const std::int64_t doubles = cuda::sum_workspace_cuda(c.outer, c.reduced, c.inner);
    Tensor hold;
    double* partial = static_cast<double*>(scratch(hold, doubles, DType::f64, c.out->device()));
    check(cuda::sum_cuda<T>(sum_args<T>(c), partial, device_of(*c.out)), "sum", *c.out);
  });
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

}  // namespace strata::cuda_backend
