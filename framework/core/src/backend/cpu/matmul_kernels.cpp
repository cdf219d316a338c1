// CPU kernels of the matrix products: (batched) GEMM through CBLAS and MoE's grouped GEMM.
#include <limits>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/grouped_gemm.h"
#include "strata/error.h"

namespace strata::cpu_backend {

namespace cpu = kernels::cpu;

namespace {

// CBLAS takes int sizes and strides; larger products are refused rather than truncated.
void check_blas_range(const GemmCall& c) {
  constexpr std::int64_t kMax = std::numeric_limits<int>::max();
  for (std::int64_t v : {c.m, c.n, c.k, c.lda, c.ldb, c.ldc})
    if (v > kMax)
      throw ValueError("matmul: a matrix size or row stride (" + std::to_string(v) +
                           ") exceeds the 32-bit range of BLAS",
                       "split the product into smaller ones");
}

// The call's products with operands of type T and results of type Acc.
template <class T, class Acc>
void run_gemm(const GemmCall& c) {
  check_blas_range(c);
  if (c.count == 0) return;
  cpu::GemmArgs<T, Acc> g;
  g.trans_a = c.trans_a;
  g.trans_b = c.trans_b;
  g.m = c.m;
  g.n = c.n;
  g.k = c.k;
  g.alpha = Acc(c.alpha);
  g.a = c.a->data<T>();
  g.lda = c.lda;
  g.b = c.b->data<T>();
  g.ldb = c.ldb;
  g.beta = Acc(c.beta);
  g.c = c.c->data<Acc>();
  g.ldc = c.ldc;
  if (c.count > 1) {
    cpu::gemm_batched_cpu(g, c.count, c.a_offsets.data(), c.b_offsets.data(), c.c_offsets.data());
    return;
  }
  auto first = [](std::span<const std::int64_t> offsets) { return offsets.empty() ? 0 : offsets[0]; };
  g.a += first(c.a_offsets);
  g.b += first(c.b_offsets);
  g.c += first(c.c_offsets);
  cpu::gemm_cpu(g);
}

void gemm(const GemmCall& c) {
  dispatch_floating(c.c->dtype(), "gemm", [&](auto type) { run_gemm<decltype(type), decltype(type)>(c); });
}

// bf16 operands, f32 result (the mixed-precision products: precision.h).
void gemm_bf16(const GemmCall& c) { run_gemm<bfloat16, float>(c); }

template <class T, class Acc = T>
cpu::GroupedGemmArgs<T, Acc> grouped_args(const GroupedGemmCall& c) {
  cpu::GroupedGemmArgs<T, Acc> a;
  a.groups = c.groups, a.rows = c.rows, a.in = c.in, a.out = c.out;
  a.offsets = c.offsets.data();
  a.x = c.x->data<T>();
  a.w = c.w->data<T>();
  return a;
}

void grouped_gemm(const GroupedGemmCall& c) {
  dispatch_floating(c.x->dtype(), "grouped_gemm", [&](auto type) {
    using T = decltype(type);
    cpu::GroupedGemmArgs<T> a = grouped_args<T>(c);
    a.y = c.y->data<T>();
    cpu::grouped_gemm_fwd_cpu(a);
  });
}

void grouped_gemm_backward(const GroupedGemmCall& c) {
  dispatch_floating(c.x->dtype(), "grouped_gemm backward", [&](auto type) {
    using T = decltype(type);
    cpu::GroupedGemmArgs<T> a = grouped_args<T>(c);
    a.dy = c.dy->data<T>();
    a.dx = out<T>(c.dx);
    a.dw = out<T>(c.dw);
    cpu::grouped_gemm_bwd_cpu(a);
  });
}

void grouped_gemm_bf16(const GroupedGemmCall& c) {
  cpu::GroupedGemmArgs<bfloat16, float> a = grouped_args<bfloat16, float>(c);
  a.y = c.y->data<float>();
  cpu::grouped_gemm_fwd_cpu(a);
}

void grouped_gemm_bf16_backward(const GroupedGemmCall& c) {
  cpu::GroupedGemmArgs<bfloat16, float> a = grouped_args<bfloat16, float>(c);
  a.dy = c.dy->data<bfloat16>();
  a.dx = out<float>(c.dx);
  a.dw = out<float>(c.dw);
  cpu::grouped_gemm_bwd_cpu(a);
}

}  // namespace

void register_matmul(CoreKernels& k) {
  add(k.gemm, kFloating, gemm);
  add(k.grouped_gemm, kFloating, grouped_gemm);
  add(k.grouped_gemm_backward, kFloating, grouped_gemm_backward);
  // bf16 operands with f32 results; calls with any other combination go to the kernels above
  k.gemm.add({.backend = "cpu",
              .device = DeviceType::cpu,
              .dtypes = {DType::bf16, DType::f32},
              .supports = [](const GemmCall& c) { return bf16_operands_f32_results(c); },
              .run = gemm_bf16});
  const auto mixed = [](const GroupedGemmCall& c) { return bf16_operands_f32_results(c); };
  k.grouped_gemm.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = {DType::bf16}, .supports = mixed,
                      .run = grouped_gemm_bf16});
  k.grouped_gemm_backward.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = {DType::bf16},
                               .supports = mixed, .run = grouped_gemm_bf16_backward});
}

}  // namespace strata::cpu_backend
