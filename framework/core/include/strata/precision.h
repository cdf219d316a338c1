#pragma once
// Mixed precision: the dtype the matrix products of the current thread compute in.
//
//   {
//     PrecisionGuard bf16(Precision::bf16);   // what train.precision = "bf16" does per step
//     Tensor loss = model.loss(batch);          // linear / grouped_matmul: bf16 products
//     loss.backward();                          // their backward too (captured in the forward)
//   }
//
// The policy, one row per kind of op (docs/precision.md gives the reasons):
//   linear, grouped_matmul (projections, LM head, experts): operands rounded to bf16,
//       products accumulated and returned in f32 (oneDNN on AVX512-BF16 / AMX);
//   attention: bf16 operands, f32 statistics, f32 results where the backend has a fused bf16
//       kernel that takes the call (cuDNN on a GPU); else f32 (the CPU flash kernel has none);
//   matmul: in its inputs' dtype;
//   norms, softmax, cross-entropy, the selective scan and its state, conv, reductions,
//   elementwise ops: f32;
//   parameters (master weights), gradients and AdamW state: f32.
// So activations between ops stay f32: bf16 exists only inside the products, where it
// halves memory traffic and doubles the arithmetic rate.
// Precision::tf32 is the same policy with f32 operands rounded to TF32 (10 mantissa bits,
// nearest-even) instead of bf16: NVIDIA tensor cores' f32 path (cuBLAS
// CUBLAS_COMPUTE_32F_FAST_TF32). The CPU rounds the operands the same way and multiplies
// in f32: the same numerics on both, faster only on a GPU. Opt-in, never the default.
#include <cstdint>
#include <string_view>

namespace strata {

enum class Precision : std::uint8_t { f32, bf16, tf32 };

std::string_view precision_name(Precision p);         // "f32", "bf16", "tf32"
Precision parse_precision(std::string_view name);     // ValueError for anything else

// The current thread's policy (f32 unless a guard is alive).
Precision compute_precision();

// Sets the policy for its scope (nestable; restores the previous one).
class PrecisionGuard {
 public:
  explicit PrecisionGuard(Precision precision);
  ~PrecisionGuard();
  PrecisionGuard(const PrecisionGuard&) = delete;
  PrecisionGuard& operator=(const PrecisionGuard&) = delete;

 private:
  Precision previous_;
};

}  // namespace strata
