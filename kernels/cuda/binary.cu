// Broadcasting binary arithmetic, affine and axpy on CUDA: twins of kernels/cpu/binary.cpp.
#include <cstdint>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/strided.cuh"

namespace strata::kernels::cuda {

namespace {

template <class T>
struct Add {
  __device__ static T apply(T a, T b) { return a + b; }
};
template <class T>
struct Sub {
  __device__ static T apply(T a, T b) { return a - b; }
};
template <class T>
struct Mul {
  __device__ static T apply(T a, T b) { return a * b; }
};
template <class T>
struct Div {
  __device__ static T apply(T a, T b) { return a / b; }
};

// out[i] = a[i] (op) b[i], all contiguous [n] (the common case after coalescing).
template <class Op, class T>
__global__ void binary_dense_kernel(const T* a, const T* b, T* out, std::int64_t n) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) out[i] = Op::apply(a[i], b[i]);
}

// out[i] = a[offset_a(i)] (op) b[offset_b(i)]; out contiguous [n] (operand 0 of s), a and b
// operands 1 and 2.
template <class Op, class T>
__global__ void binary_strided_kernel(const T* a, const T* b, T* out, std::int64_t n, StridedIndex<3> s) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    std::int64_t offset[3];
    strided_offsets(s, i, offset);
    out[i] = Op::apply(a[offset[1]], b[offset[2]]);
  }
}

template <class Op, class T>
void launch_binary(const BinaryArgs<T>& args) {
  std::int64_t n = 1, out_strides[kMaxDims] = {};
  for (int d = args.rank - 1; d >= 0; --d) {
    out_strides[d] = n;
    n *= args.sizes[d];
  }
  if (n == 0) return;
  const std::int64_t* strides[3] = {out_strides, args.a_strides, args.b_strides};
  const StridedIndex<3> s = make_strided_index<3>(args.rank, args.sizes, strides);
  if (is_dense(s))
    binary_dense_kernel<Op><<<blocks_for(n), kThreads>>>(args.a, args.b, args.out, n);
  else
    binary_strided_kernel<Op><<<blocks_for(n), kThreads>>>(args.a, args.b, args.out, n, s);
}

template <class T>
__global__ void affine_kernel(const T* x, T* out, std::int64_t n, T alpha, T beta) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) out[i] = alpha * x[i] + beta;
}

template <class T>
__global__ void axpy_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n, T alpha) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) y[i] += alpha * x[i];
}

}  // namespace

template <class T>
std::string binary_cuda(BinaryOp op, const BinaryArgs<T>& args, int device) {
  if (auto e = use_device(device); !e.empty()) return e;
  switch (op) {
    case BinaryOp::add:
      launch_binary<Add<T>>(args);
      break;
    case BinaryOp::sub:
      launch_binary<Sub<T>>(args);
      break;
    case BinaryOp::mul:
      launch_binary<Mul<T>>(args);
      break;
    case BinaryOp::div:
      launch_binary<Div<T>>(args);
      break;
  }
  return launch_status();
}

template <class T>
std::string affine_cuda(const T* x, T* out, std::int64_t n, T alpha, T beta, int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  affine_kernel<<<blocks_for(n), kThreads>>>(x, out, n, alpha, beta);
  return launch_status();
}

template <class T>
std::string axpy_cuda(const T* x, T* y, std::int64_t n, T alpha, int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  axpy_kernel<<<blocks_for(n), kThreads>>>(x, y, n, alpha);
  return launch_status();
}

template std::string binary_cuda<float>(BinaryOp, const BinaryArgs<float>&, int);
template std::string binary_cuda<double>(BinaryOp, const BinaryArgs<double>&, int);
template std::string affine_cuda<float>(const float*, float*, std::int64_t, float, float, int);
template std::string affine_cuda<double>(const double*, double*, std::int64_t, double, double, int);
template std::string axpy_cuda<float>(const float*, float*, std::int64_t, float, int);
template std::string axpy_cuda<double>(const double*, double*, std::int64_t, double, int);

}  // namespace strata::kernels::cuda
