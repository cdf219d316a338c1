#pragma once
// Matrix products through CBLAS (OpenBLAS sgemm/dgemm), row-major.
#include <cstdint>
#include <string>

#include "strata/half.h"

namespace strata::kernels::cpu {

// C[m, n] = alpha * op(A) op(B) + beta * C, op(X) = X or X^T; A is [m, k] (or [k, m]
// when trans_a), B is [k, n] (or [n, k] when trans_b); ld* are row strides in elements.
// T: the operands' type; Acc: C's (f32 for bf16 operands: products accumulate in f32).
template <class T, class Acc = T>
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  Acc alpha = 1;
  const T* a = nullptr;
  std::int64_t lda = 0;
  const T* b = nullptr;
  std::int64_t ldb = 0;
  Acc beta = 0;
  Acc* c = nullptr;
  std::int64_t ldc = 0;
  bool varying_mk = false;  // hint: this product recurs with many m and k (grouped expert products)
};

// (T, Acc) in {(float, float), (double, double), (bfloat16, float)}. bf16 products run in
// oneDNN (AVX512-BF16 / AMX where present), else as f32 products of the widened operands.
template <class T, class Acc>
void gemm_cpu(const GemmArgs<T, Acc>& args);

// C[m, n] = alpha op(A) op(B) + beta C, row-major with row strides: gemm_cpu with its
// arguments in BLAS order, for kernels that make many small products on strided views.
template <class T>
void gemm_rows(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
               std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  gemm_cpu(GemmArgs<T>{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc});
}

// `count` products of the shape in `args`, the i-th with a + a_offsets[i], b +
// b_offsets[i], c + c_offsets[i]. Small products run in parallel over the batch (BLAS
// single-threaded inside); large ones run one after another, each BLAS-threaded.
template <class T, class Acc>
void gemm_batched_cpu(const GemmArgs<T, Acc>& args, std::int64_t count, const std::int64_t* a_offsets,
                      const std::int64_t* b_offsets, const std::int64_t* c_offsets);

// Sets the thread count of strata's OpenMP kernels and of BLAS together.
void set_cpu_threads(int threads);
int cpu_threads();
// BLAS library, version and threading model, for logs and benchmark headers.
std::string blas_description();

}  // namespace strata::kernels::cpu
