#include "kernels/cpu/binary.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/binary.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <type_traits>

#include "kernels/cpu/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {

constexpr std::int64_t kElementwiseGrain = 1 << 15;

template <class T>
struct Add {
  static T apply(T a, T b) { return a + b; }
};
template <class T>
struct Sub {
  static T apply(T a, T b) { return a - b; }
};
template <class T>
struct Mul {
  static T apply(T a, T b) { return a * b; }
};
template <class T>
struct Div {
  static T apply(T a, T b) { return a / b; }
};

// The three stride patterns of the inner loop get their own loops so the compiler
// vectorises them (unit/unit, unit/broadcast, broadcast/unit); anything else is strided.
template <class Op, class T>
void inner_loop(const T* __restrict a, std::int64_t sa, const T* __restrict b, std::int64_t sb, T* __restrict out,
                std::int64_t n) {
  if (sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = b[0];
    for (std::int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const T av = a[0];
    for (std::int64_t i = 0; i < n; ++i) out[i] = Op::apply(av, b[i]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i] = Op::apply(a[i * sa], b[i * sb]);
  }
}

template <class Op, class T>
void binary_loop(const BinaryArgs<T>& args) {
  StridedSpace space;
  space.rank = args.rank;
  std::int64_t total = 1;
  std::int64_t out_stride = 1;
  for (int d = args.rank - 1; d >= 0; --d) {
    space.sizes[d] = args.sizes[d];
    space.strides[0][d] = out_stride;
    space.strides[1][d] = args.a_strides[d];
    space.strides[2][d] = args.b_strides[d];
    out_stride *= args.sizes[d];
    total *= args.sizes[d];
  }
  if (total == 0) return;
  const StridedSpace s = coalesce(space, 3);
  const int last = s.rank - 1;
  const std::int64_t inner = s.sizes[last];
  const std::int64_t sa = s.strides[1][last], sb = s.strides[2][last];
  // Threads take ranges of the flat output index, so a single long row is split too.
  parallel_for(total, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t pos = begin;
    while (pos < end) {
      const std::int64_t row = pos / inner, col = pos % inner;
      const std::int64_t n = std::min(inner - col, end - pos);
      const auto off = row_offsets<3>(s, row);
      inner_loop<Op>(args.a + off[1] + col * sa, sa, args.b + off[2] + col * sb, sb, args.out + pos, n);
      pos += n;
    }
  });
}

}  // namespace

template <class T>
void binary_cpu(BinaryOp op, const BinaryArgs<T>& args) {
  switch (op) {
    case BinaryOp::add:
      return binary_loop<Add<T>>(args);
    case BinaryOp::sub:
      return binary_loop<Sub<T>>(args);
    case BinaryOp::mul:
      return binary_loop<Mul<T>>(args);
    case BinaryOp::div:
      return binary_loop<Div<T>>(args);
  }
}

template <class T>
void affine_cpu(const T* x, T* out, std::int64_t n, T alpha, T beta) {
  parallel_for(n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = alpha * x[i] + beta;
  });
}

template <class T>
void axpy_cpu(const T* x, T* y, std::int64_t n, T alpha) {
  parallel_for(n, kElementwiseGrain, [&](std::int64_t begin, std::int64_t end) {
    const T* __restrict xs = x;
    T* __restrict ys = y;
    for (std::int64_t i = begin; i < end; ++i) ys[i] += alpha * xs[i];
  });
}

// Per-target entry points.
void binary_f32(BinaryOp op, const BinaryArgs<float>& args) { HWY_NAMESPACE::binary_cpu(op, args); }
void binary_f64(BinaryOp op, const BinaryArgs<double>& args) { HWY_NAMESPACE::binary_cpu(op, args); }
void affine_f32(const float* x, float* out, std::int64_t n, float alpha, float beta) {
  HWY_NAMESPACE::affine_cpu(x, out, n, alpha, beta);
}
void affine_f64(const double* x, double* out, std::int64_t n, double alpha, double beta) {
  HWY_NAMESPACE::affine_cpu(x, out, n, alpha, beta);
}
void axpy_f32(const float* x, float* y, std::int64_t n, float alpha) { HWY_NAMESPACE::axpy_cpu(x, y, n, alpha); }
void axpy_f64(const double* x, double* y, std::int64_t n, double alpha) { HWY_NAMESPACE::axpy_cpu(x, y, n, alpha); }

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

HWY_EXPORT(binary_f32);
HWY_EXPORT(binary_f64);
HWY_EXPORT(affine_f32);
HWY_EXPORT(affine_f64);
HWY_EXPORT(axpy_f32);
HWY_EXPORT(axpy_f64);

template <class T>
void binary_cpu(BinaryOp op, const BinaryArgs<T>& args) {
  if constexpr (std::is_same_v<T, float>)
    HWY_DYNAMIC_DISPATCH(binary_f32)(op, args);
  else
    HWY_DYNAMIC_DISPATCH(binary_f64)(op, args);
}

template <class T>
void affine_cpu(const T* x, T* out, std::int64_t n, T alpha, T beta) {
  if constexpr (std::is_same_v<T, float>)
    HWY_DYNAMIC_DISPATCH(affine_f32)(x, out, n, alpha, beta);
  else
    HWY_DYNAMIC_DISPATCH(affine_f64)(x, out, n, alpha, beta);
}

template <class T>
void axpy_cpu(const T* x, T* y, std::int64_t n, T alpha) {
  if constexpr (std::is_same_v<T, float>)
    HWY_DYNAMIC_DISPATCH(axpy_f32)(x, y, n, alpha);
  else
    HWY_DYNAMIC_DISPATCH(axpy_f64)(x, y, n, alpha);
}

template void binary_cpu<float>(BinaryOp, const BinaryArgs<float>&);
template void binary_cpu<double>(BinaryOp, const BinaryArgs<double>&);
template void affine_cpu<float>(const float*, float*, std::int64_t, float, float);
template void affine_cpu<double>(const double*, double*, std::int64_t, double, double);
template void axpy_cpu<float>(const float*, float*, std::int64_t, float);
template void axpy_cpu<double>(const double*, double*, std::int64_t, double);

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
