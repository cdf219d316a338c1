#pragma once
// Matrix products through oneDNN's matmul primitive (when strata is built with oneDNN):
// f32 x f32 -> f32 and bf16 x bf16 -> f32 (f32 accumulation), on the CPU's widest units,
// picked by oneDNN at run time (AVX-512, AVX512-BF16, AMX). Row-major like GemmArgs.
#include <cstdint>
#include <string>

namespace strata::kernels::cpu {

enum class MatmulOperands { f32, bf16 };  // A and B; C is always f32

struct MatmulArgs {
  MatmulOperands operands = MatmulOperands::f32;
  bool trans_a = false, trans_b = false;
  std::int64_t m = 0, n = 0, k = 0;  // C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C
  float alpha = 1, beta = 0;
  const void* a = nullptr;  // float or bf16 bits; row stride lda
  std::int64_t lda = 0;
  const void* b = nullptr;
  std::int64_t ldb = 0;
  float* c = nullptr;
  std::int64_t ldc = 0;
  // The caller runs this product with many different m and k (grouped expert products):
  // one primitive with run-time m and k then serves them all, where fixed sizes would
  // generate code for each new size.
  bool varying_mk = false;
};

// Runs the product and returns true; false when this build has no oneDNN or oneDNN has no
// implementation for the operands on this CPU (the caller then computes it another way).
bool onednn_matmul(const MatmulArgs& args);

// Turns oneDNN off (or back on) for this process: products then take the paths a build
// without oneDNN takes (OpenBLAS; bf16 as f32 products of the widened operands). For tests
// of those paths and for comparisons.
void set_onednn_enabled(bool enabled);

// "oneDNN 2.6.3 (bf16: avx512_core_bf16)" or "no oneDNN", for logs and benchmark headers.
std::string onednn_description();

}  // namespace strata::kernels::cpu
