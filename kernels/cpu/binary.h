#pragma once
// Broadcasting binary arithmetic: out = a (op) b, out contiguous, a and b strided
// (stride 0 along broadcast dims).
#include "kernels/op_kinds.h"
#include <cstdint>

#include "kernels/cpu/strided.h"

namespace strata::kernels::cpu {

using BinaryOp = kernels::BinaryOp;

template <class T>
struct BinaryArgs {
  const T* a = nullptr;
  const T* b = nullptr;
  T* out = nullptr;
  int rank = 0;
  std::int64_t sizes[kMaxDims] = {};      // out shape
  std::int64_t a_strides[kMaxDims] = {};  // elements; 0 where a broadcasts
  std::int64_t b_strides[kMaxDims] = {};
};

template <class T>
void binary_cpu(BinaryOp op, const BinaryArgs<T>& args);

// out[i] = alpha * x[i] + beta (scale, scalar add, neg); out may alias x.
template <class T>
void affine_cpu(const T* x, T* out, std::int64_t n, T alpha, T beta);

// y[i] += alpha * x[i]; the in-place accumulation used for gradients. x and y must not overlap.
template <class T>
void axpy_cpu(const T* x, T* y, std::int64_t n, T alpha);

}  // namespace strata::kernels::cpu
