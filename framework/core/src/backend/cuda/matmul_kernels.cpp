// CUDA kernels of the matrix products: (batched) GEMM and MoE's grouped GEMM through cuBLAS,
// in f32, f64 and the mixed-precision bf16 x bf16 -> f32 (precision.h).
#include "backend/cuda/cuda_backend.h"
#include "kernels/cuda/gemm.h"

namespace strata::cuda_backend {

namespace cuda = kernels::cuda;

namespace {

cuda::GemmTypes gemm_types(DType operands, bool tf32) {
  return operands == DType::f64    ? cuda::GemmTypes::f64
         : operands == DType::bf16 ? cuda::GemmTypes::bf16_f32
         : tf32                    ? cuda::GemmTypes::f32_tf32
                                   : cuda::GemmTypes::f32;
}

const std::int64_t* offsets_or_null(std::span<const std::int64_t> offsets) {
  return offsets.empty() ? nullptr : offsets.data();
}

void gemm(const GemmCall& c) {
  const cuda::GemmArgs args{.types = gemm_types(c.a->dtype(), c.tf32),
                            .trans_a = c.trans_a,
                            .trans_b = c.trans_b,
                            .m = c.m,
                            .n = c.n,
                            .k = c.k,
                            .alpha = c.alpha,
                            .beta = c.beta,
                            .a = c.a->raw_data(),
                            .lda = c.lda,
                            .b = c.b->raw_data(),
                            .ldb = c.ldb,
                            .c = c.c->raw_data(),
                            .ldc = c.ldc};
  check(cuda::gemm_cuda(args, c.count, offsets_or_null(c.a_offsets), offsets_or_null(c.b_offsets),
                        offsets_or_null(c.c_offsets), c.c->device().index),
        "gemm", *c.c);
}

cuda::GroupedGemmArgs grouped_args(const GroupedGemmCall& c) {
  const auto in = [](const Tensor* t) -> const void* { return t && t->defined() ? t->raw_data() : nullptr; };
  const auto out = [](Tensor* t) -> void* { return t && t->defined() ? t->raw_data() : nullptr; };
  return {.types = gemm_types(c.x->dtype(), c.tf32),
          .groups = c.groups,
          .rows = c.rows,
          .in = c.in,
          .out = c.out,
          .offsets = c.offsets.data(),
          .x = c.x->raw_data(),
          .w = c.w->raw_data(),
          .y = out(c.y),
          .dy = in(c.dy),
          .dx = out(c.dx),
          .dw = out(c.dw)};
}

void grouped_gemm(const GroupedGemmCall& c) {
  check(cuda::grouped_gemm_fwd_cuda(grouped_args(c), c.x->device().index), "grouped_gemm", *c.x);
}

void grouped_gemm_backward(const GroupedGemmCall& c) {
  check(cuda::grouped_gemm_bwd_cuda(grouped_args(c), c.x->device().index), "grouped_gemm backward", *c.x);
}

}  // namespace

void register_matmul(CoreKernels& k) {
  add(k.gemm, kFloating, gemm);
  add(k.grouped_gemm, kFloating, grouped_gemm);
  add(k.grouped_gemm_backward, kFloating, grouped_gemm_backward);
  add(k.gemm, {DType::bf16, DType::f32}, gemm, [](const GemmCall& c) { return bf16_operands_f32_results(c); });
  const auto mixed = [](const GroupedGemmCall& c) { return bf16_operands_f32_results(c); };
  add(k.grouped_gemm, {DType::bf16}, grouped_gemm, mixed);
  add(k.grouped_gemm_backward, {DType::bf16}, grouped_gemm_backward, mixed);
}

}  // namespace strata::cuda_backend
