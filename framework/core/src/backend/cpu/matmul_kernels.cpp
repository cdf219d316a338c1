// CPU kernels of the matrix products: (batched) GEMM through CBLAS and MoE's grouped GEMM.
#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "backend/cpu/cpu_backend.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/grouped_gemm.h"
#include "kernels/tf32.h"
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

// The first `count` elements from p, rounded to TF32 (the tf32 policy's operands), in a
// tensor from the caching allocator (a training step asks for the same sizes every time).
Tensor rounded_to_tf32(const float* p, std::int64_t count) {
  Tensor out = Tensor::empty({count}, DType::f32);
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (count > (1 << 16))
  for (std::int64_t i = 0; i < count; ++i) o[i] = kernels::round_to_tf32(p[i]);
  return out;
}

// Elements from a matrix operand's start to the last one the call reads: the product of
// `rows` x `cols` stored at row stride ld, at the largest of `offsets`.
std::int64_t operand_extent(std::int64_t rows, std::int64_t cols, std::int64_t ld,
                            std::span<const std::int64_t> offsets) {
  if (rows == 0 || cols == 0) return 0;
  std::int64_t last = 0;
  for (std::int64_t o : offsets) last = std::max(last, o);
  return last + (rows - 1) * ld + cols;
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
  Tensor a_tf32, b_tf32;  // the operands rounded to TF32 (tf32 policy), same layout
  if constexpr (std::is_same_v<T, float>) {
    if (c.tf32) {
      a_tf32 = rounded_to_tf32(g.a, operand_extent(c.trans_a ? c.k : c.m, c.trans_a ? c.m : c.k, c.lda, c.a_offsets));
      b_tf32 = rounded_to_tf32(g.b, operand_extent(c.trans_b ? c.n : c.k, c.trans_b ? c.k : c.n, c.ldb, c.b_offsets));
      g.a = a_tf32.data<float>();
      g.b = b_tf32.data<float>();
    }
  }
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

// Under the tf32 policy: x, w and dy (when given) rounded to TF32, held for the call.
struct Tf32Operands {
  Tensor x, w, dy;
  Tf32Operands(const GroupedGemmCall& c, cpu::GroupedGemmArgs<float>& a) {
    x = rounded_to_tf32(a.x, c.rows * c.in);
    w = rounded_to_tf32(a.w, c.groups * c.out * c.in);
    a.x = x.data<float>(), a.w = w.data<float>();
    if (a.dy) {
      dy = rounded_to_tf32(a.dy, c.rows * c.out);
      a.dy = dy.data<float>();
    }
  }
};

// The rounded operands (pointed to by a) when the call is an f32 one under tf32.
template <class T>
std::optional<Tf32Operands> round_if_tf32(const GroupedGemmCall& c, cpu::GroupedGemmArgs<T>& a) {
  if constexpr (std::is_same_v<T, float>)
    if (c.tf32) return std::optional<Tf32Operands>(std::in_place, c, a);
  return std::nullopt;
}

void grouped_gemm(const GroupedGemmCall& c) {
  dispatch_floating(c.x->dtype(), "grouped_gemm", [&](auto type) {
    using T = decltype(type);
    cpu::GroupedGemmArgs<T> a = grouped_args<T>(c);
    a.y = c.y->data<T>();
    const std::optional<Tf32Operands> rounded = round_if_tf32(c, a);  // held for the call
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
    const std::optional<Tf32Operands> rounded = round_if_tf32(c, a);  // held for the call
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
