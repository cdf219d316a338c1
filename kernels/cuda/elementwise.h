#pragma once
// Host entry points of the CUDA elementwise kernels: binary.cu, unary.cu, copy.cu,
// random.cu, reduce.cu (fill.h has fill). Twins of kernels/cpu binary.h, unary.h, copy.h,
// random.h and reduce.h, with the same semantics. Plain C++ (no CUDA headers), for the
// backend's registration. Pointers are device pointers; kernels run asynchronously on
// `device`'s default stream; each function returns "" or the CUDA error's text.
#include <cstdint>
#include <string>

#include "kernels/cpu/binary.h"
#include "kernels/cpu/reduce.h"
#include "kernels/op_kinds.h"

namespace strata::kernels::cuda {

using cpu::kMaxDims;  // the framework's largest rank

// ---- binary.cu --------------------------------------------------------------------------

// out = a (op) b over `sizes` (out contiguous); a and b read at their strides (in elements,
// 0 along dims where they broadcast). out may be a or b (same layout), nothing else.
template <class T>
using BinaryArgs = cpu::BinaryArgs<T>;  // the CPU kernel's arguments, with device pointers

// T: float, double.
template <class T>
std::string binary_cuda(BinaryOp op, const BinaryArgs<T>& args, int device);
// out[i] = alpha * x[i] + beta, i < n; out may be x.
template <class T>
std::string affine_cuda(const T* x, T* out, std::int64_t n, T alpha, T beta, int device);
// y[i] += alpha * x[i], i < n; x and y do not overlap.
template <class T>
std::string axpy_cuda(const T* x, T* y, std::int64_t n, T alpha, int device);

// ---- unary.cu (formulas: kernels/unary_math.h) ------------------------------------------

// y[i] = f(x[i]); y may be x. T: float, double.
template <class T>
std::string unary_fwd_cuda(UnaryOp op, const T* x, T* y, std::int64_t n, const UnaryParams& params, int device);
// dx[i] = g[i] * f'(.) from saved[i]: the forward's output y where unary_bwd_uses_output(op),
// else its input x. dx may be g.
template <class T>
std::string unary_bwd_cuda(UnaryOp op, const T* saved, const T* g, T* dx, std::int64_t n, const UnaryParams& params,
                           int device);

// ---- copy.cu ----------------------------------------------------------------------------

// The element types of a copy; bf16 and f16 are 2-byte storage (strata::bfloat16 /
// float16 on the host, __nv_bfloat16 / __half on the device: the same bits).
enum class Storage { f32, f64, i64, bf16, f16 };

// dst = src converted over `sizes`, both at their strides (src's may be 0: broadcast).
// Conversions as kernels/cpu/copy.h: C casts between f32, f64 and i64; to bf16/f16 through
// f32 (a double or i64 rounds to f32 first), rounding to nearest even; from bf16/f16 to f32
// exactly, then cast. src and dst do not overlap.
struct CopyArgs {
  const void* src = nullptr;
  void* dst = nullptr;
  Storage src_type = Storage::f32, dst_type = Storage::f32;
  int rank = 0;
  std::int64_t sizes[kMaxDims] = {};
  std::int64_t src_strides[kMaxDims] = {};
  std::int64_t dst_strides[kMaxDims] = {};
};
std::string copy_cuda(const CopyArgs& args, int device);

// ---- random.cu (formulas: kernels/random_math.h) ----------------------------------------

// The Philox fills of kernels/cpu/random.h, element for element the same stream: element i
// uses counter first_counter + i / per_counter (kernels/op_kinds.h). Uniform and integer
// fills give the CPU's bits; normal fills up to the last bits of the device's log/sin/cos.
// T: float, double.
template <class T>
std::string uniform_fill_cuda(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter, T low, T high,
                              int device);
template <class T>
std::string normal_fill_cuda(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter, T mean,
                             T std_dev, int device);
// Integers in [low, high), high > low.
std::string randint_fill_cuda(std::int64_t* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter,
                              std::int64_t low, std::int64_t high, int device);

// ---- reduce.cu --------------------------------------------------------------------------

// out[a, c] = sum over r of x[a, r, c]; x: [A, R, C] contiguous, out: [A, C]. Accumulated
// in double for f32 too, in a fixed order (deterministic; the order depends on the shape
// only, not on the GPU). T: float, double.
template <class T>
using SumArgs = cpu::SumArgs<T>;  // the CPU kernel's arguments, with device pointers
// Doubles of device workspace sum_cuda needs for this shape (0: none): the partial sums
// of long reductions split across blocks.
std::int64_t sum_workspace_cuda(std::int64_t outer, std::int64_t reduced, std::int64_t inner);
// workspace: sum_workspace_cuda(...) doubles on `device`, or nullptr when that is 0. It
// must stay allocated until the kernels ran (stream order: a caching allocator's reuse of
// it by a later call on the same stream is safe).
template <class T>
std::string sum_cuda(const SumArgs<T>& args, double* workspace, int device);

}  // namespace strata::kernels::cuda
