// The matrix products of kernels/cuda/gemm.h for the emulated CUDA device: what cuBLAS
// computes, as plain loops over host memory (the emulator's device memory), accumulated in
// double and rounded once to the result type. cuBLAS itself cannot be emulated; this keeps
// the ops that call it (linear, matmul, MoE's experts) running on the emulated device.
#include <cstring>

#include "kernels/cuda/gemm.h"
#include "kernels/tf32.h"

namespace strata::kernels::cuda {

namespace {

double operand(GemmTypes t, const void* base, std::int64_t i) {
  switch (t) {
    case GemmTypes::f64:
      return static_cast<const double*>(base)[i];
    case GemmTypes::bf16_f32: {
      const std::uint32_t bits = std::uint32_t(static_cast<const std::uint16_t*>(base)[i]) << 16;
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return f;
    }
    case GemmTypes::f32_tf32:  // tensor cores round f32 operands to TF32
      return round_to_tf32(static_cast<const float*>(base)[i]);
    case GemmTypes::f32:
      break;
  }
  return static_cast<const float*>(base)[i];
}

double result(GemmTypes t, const void* base, std::int64_t i) {
  return t == GemmTypes::f64 ? static_cast<const double*>(base)[i] : static_cast<const float*>(base)[i];
}

void store(GemmTypes t, void* base, std::int64_t i, double v) {
  if (t == GemmTypes::f64)
    static_cast<double*>(base)[i] = v;
  else
    static_cast<float*>(base)[i] = float(v);
}

std::size_t operand_bytes(GemmTypes t) { return t == GemmTypes::f64 ? 8 : t == GemmTypes::bf16_f32 ? 2 : 4; }
std::size_t result_bytes(GemmTypes t) { return t == GemmTypes::f64 ? 8 : 4; }

const void* at(const void* p, std::int64_t elements, std::size_t bytes) {
  return static_cast<const char*>(p) + elements * std::int64_t(bytes);
}
void* at(void* p, std::int64_t elements, std::size_t bytes) { return static_cast<char*>(p) + elements * std::int64_t(bytes); }

// C[m, n] = alpha op(A) op(B) + beta C, row-major (beta == 0 ignores C's old values, as BLAS).
void product(const GemmArgs& g, const void* a, const void* b, void* c) {
  for (std::int64_t i = 0; i < g.m; ++i)
    for (std::int64_t j = 0; j < g.n; ++j) {
      double sum = 0;
      for (std::int64_t p = 0; p < g.k; ++p) {
        const double av = operand(g.types, a, g.trans_a ? p * g.lda + i : i * g.lda + p);
        const double bv = operand(g.types, b, g.trans_b ? j * g.ldb + p : p * g.ldb + j);
        sum += av * bv;
      }
      const std::int64_t ci = i * g.ldc + j;
      store(g.types, c, ci, g.alpha * sum + (g.beta == 0 ? 0.0 : g.beta * result(g.types, c, ci)));
    }
}

}  // namespace

std::string gemm_cuda(const GemmArgs& g, std::int64_t count, const std::int64_t* a_offsets,
                      const std::int64_t* b_offsets, const std::int64_t* c_offsets, int) {
  for (std::int64_t i = 0; i < count; ++i)
    product(g, at(g.a, a_offsets ? a_offsets[i] : 0, operand_bytes(g.types)),
            at(g.b, b_offsets ? b_offsets[i] : 0, operand_bytes(g.types)),
            at(g.c, c_offsets ? c_offsets[i] : 0, result_bytes(g.types)));
  return {};
}

std::string grouped_gemm_fwd_cuda(const GroupedGemmArgs& a, int) {
  const std::size_t ob = operand_bytes(a.types), rb = result_bytes(a.types);
  for (std::int64_t g = 0; g < a.groups; ++g) {
    const std::int64_t begin = a.offsets[g], rows = a.offsets[g + 1] - begin;
    const GemmArgs p{.types = a.types, .trans_a = false, .trans_b = true, .m = rows, .n = a.out, .k = a.in,
                     .lda = a.in, .ldb = a.in, .ldc = a.out};
    product(p, at(a.x, begin * a.in, ob), at(a.w, g * a.out * a.in, ob), at(a.y, begin * a.out, rb));
  }
  return {};
}

std::string grouped_gemm_bwd_cuda(const GroupedGemmArgs& a, int) {
  const std::size_t ob = operand_bytes(a.types), rb = result_bytes(a.types);
  for (std::int64_t g = 0; g < a.groups; ++g) {
    const std::int64_t begin = a.offsets[g], rows = a.offsets[g + 1] - begin;
    const void* dy = at(a.dy, begin * a.out, ob);
    if (a.dx) {
      const GemmArgs p{.types = a.types, .m = rows, .n = a.in, .k = a.out, .lda = a.out, .ldb = a.in, .ldc = a.in};
      product(p, dy, at(a.w, g * a.out * a.in, ob), at(a.dx, begin * a.in, rb));
    }
    if (a.dw) {  // rows == 0 gives zeros (an empty sum)
      const GemmArgs p{.types = a.types, .trans_a = true, .m = a.out, .n = a.in, .k = rows, .lda = a.out,
                       .ldb = a.in, .ldc = a.in};
      product(p, dy, at(a.x, begin * a.in, ob), at(a.dw, g * a.out * a.in, rb));
    }
  }
  return {};
}

}  // namespace strata::kernels::cuda
