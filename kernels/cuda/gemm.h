#pragma once
// Matrix products on a CUDA device through cuBLAS, in the row-major terms of the CPU's
// kernels/cpu/gemm.h: C[m, n] = alpha op(A) op(B) + beta C with row strides lda, ldb, ldc.
// Plain C++ (no CUDA headers), so the framework's registration code can include it.
#include <cstdint>
#include <string>

namespace strata::kernels::cuda {

// Operand and result types of a product: f32 x f32 -> f32, f64 x f64 -> f64, and the
// mixed-precision products, bf16 x bf16 -> f32 (accumulated in f32 on tensor cores), and
// f32 x f32 -> f32 with the operands rounded to TF32 on tensor cores (the tf32 policy).
enum class GemmTypes { f32, f64, bf16_f32, f32_tf32 };

struct GemmArgs {
  GemmTypes types = GemmTypes::f32;
  bool trans_a = false, trans_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  const void* a = nullptr;  // [m, k] (or [k, m] when trans_a), row stride lda
  std::int64_t lda = 0;
  const void* b = nullptr;  // [k, n] (or [n, k] when trans_b), row stride ldb
  std::int64_t ldb = 0;
  void* c = nullptr;  // [m, n], row stride ldc
  std::int64_t ldc = 0;
};

// `count` products, the i-th with A, B, C starting a_offsets[i], b_offsets[i], c_offsets[i]
// elements after a, b, c (null offsets: 0). Offsets in arithmetic progression (a batch of
// equal strides, stride 0 included) run as one strided-batched call, others one call each.
std::string gemm_cuda(const GemmArgs& args, std::int64_t count, const std::int64_t* a_offsets,
                      const std::int64_t* b_offsets, const std::int64_t* c_offsets, int device);

// MoE's grouped products over rows sorted by group (see kernels/cpu/grouped_gemm.h):
// offsets [G + 1] on the host; x [S, K], w [G, N, K], y and dy [S, N]; dx [S, K] and
// dw [G, N, K] overwritten (groups without rows get zeros in dw); either may be null.
// One cuBLAS product per non-empty group: the host knows every group's size, and the
// per-expert products of the shapes this serves are large enough that a launch each costs
// little next to the product.
struct GroupedGemmArgs {
  GemmTypes types = GemmTypes::f32;
  std::int64_t groups = 0, rows = 0, in = 0, out = 0;  // G, S, K, N
  const std::int64_t* offsets = nullptr;               // host [G + 1]
  const void* x = nullptr;
  const void* w = nullptr;
  void* y = nullptr;         // forward
  const void* dy = nullptr;  // backward
  void* dx = nullptr;
  void* dw = nullptr;
};
std::string grouped_gemm_fwd_cuda(const GroupedGemmArgs& args, int device);
std::string grouped_gemm_bwd_cuda(const GroupedGemmArgs& args, int device);

}  // namespace strata::kernels::cuda
