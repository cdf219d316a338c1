#include "kernels/cuda/gemm.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "kernels/cuda/device_handles.h"
#include "kernels/cuda/runtime_errors.h"

namespace strata::kernels::cuda {

namespace {

// A failed cuBLAS call's text, with the CUDA error it may have left (taken, so that it is
// not reported later against another op).
std::string describe(cublasStatus_t s) {
  if (s == CUBLAS_STATUS_SUCCESS) return {};
  return std::string("cuBLAS: ") + cublasGetStatusString(s) + pending_error_note();
}

std::string handle_for(int device, cublasHandle_t* handle) {
  static DeviceHandles<cublasHandle_t> handles;
  return handles.get(device, handle, [](cublasHandle_t* h) { return describe(cublasCreate(h)); });
}

struct CublasTypes {
  cudaDataType_t operands, result;
  cublasComputeType_t compute;
  std::size_t operand_bytes, result_bytes;
};

CublasTypes cublas_types(GemmTypes t) {
  switch (t) {
    case GemmTypes::f64: return {CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, 8, 8};
    case GemmTypes::bf16_f32: return {CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, 2, 4};
    case GemmTypes::f32_tf32: return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, 4, 4};
    case GemmTypes::f32: break;
  }
  // Strict f32: CUBLAS_COMPUTE_32F never rounds inputs to TF32.
  return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 4, 4};
}

// alpha and beta in the compute type (f64 products take doubles, the others floats).
struct Scalars {
  double alpha64, beta64;
  float alpha32, beta32;
  const void* alpha(cublasComputeType_t c) const { return c == CUBLAS_COMPUTE_64F ? (const void*)&alpha64 : &alpha32; }
  const void* beta(cublasComputeType_t c) const { return c == CUBLAS_COMPUTE_64F ? (const void*)&beta64 : &beta32; }
};

const char* at(const void* p, std::int64_t elements, std::size_t bytes) {
  return static_cast<const char*>(p) + elements * std::int64_t(bytes);
}
char* at(void* p, std::int64_t elements, std::size_t bytes) { return static_cast<char*>(p) + elements * std::int64_t(bytes); }

// The row-major product C = op(A) op(B) is the column-major product C^T = op(B)^T op(A)^T:
// cuBLAS sees the row-major buffers as their transposes, so B goes first and the
// transposition flags carry over unchanged.
std::string one_product(cublasHandle_t h, const GemmArgs& g, const void* a, const void* b, void* c) {
  const CublasTypes t = cublas_types(g.types);
  const Scalars s{g.alpha, g.beta, float(g.alpha), float(g.beta)};
  return describe(cublasGemmEx_64(h, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, g.n,
                                  g.m, g.k, s.alpha(t.compute), b, t.operands, g.ldb, a, t.operands, g.lda,
                                  s.beta(t.compute), c, t.result, g.ldc, t.compute, CUBLAS_GEMM_DEFAULT));
}

// The common difference of offsets[0..count), if they form an arithmetic progression.
bool constant_stride(const std::int64_t* offsets, std::int64_t count, std::int64_t* stride) {
  if (!offsets) {
    *stride = 0;
    return true;
  }
  *stride = count > 1 ? offsets[1] - offsets[0] : 0;
  for (std::int64_t i = 2; i < count; ++i)
    if (offsets[i] - offsets[i - 1] != *stride) return false;
  return true;
}

std::int64_t first(const std::int64_t* offsets, std::int64_t i) { return offsets ? offsets[i] : 0; }

// Zeroes the [rows, cols] block of a contiguous result starting `offset` elements in.
std::string zero(void* base, std::int64_t offset, std::int64_t elements, std::size_t bytes) {
  if (elements == 0) return {};
  return take_error(cudaMemsetAsync(at(base, offset, bytes), 0, std::size_t(elements) * bytes));
}

}  // namespace

std::string gemm_cuda(const GemmArgs& g, std::int64_t count, const std::int64_t* a_offsets,
                      const std::int64_t* b_offsets, const std::int64_t* c_offsets, int device) {
  if (count == 0 || g.m == 0 || g.n == 0) return {};
  cublasHandle_t h = nullptr;
  if (auto e = handle_for(device, &h); !e.empty()) return e;
  const CublasTypes t = cublas_types(g.types);
  std::int64_t sa = 0, sb = 0, sc = 0;
  if (count > 1 && constant_stride(a_offsets, count, &sa) && constant_stride(b_offsets, count, &sb) &&
      constant_stride(c_offsets, count, &sc)) {
    const Scalars s{g.alpha, g.beta, float(g.alpha), float(g.beta)};
    return describe(cublasGemmStridedBatchedEx_64(
        h, g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, g.n, g.m, g.k,
        s.alpha(t.compute), at(g.b, first(b_offsets, 0), t.operand_bytes), t.operands, g.ldb, sb,
        at(g.a, first(a_offsets, 0), t.operand_bytes), t.operands, g.lda, sa, s.beta(t.compute),
        at(g.c, first(c_offsets, 0), t.result_bytes), t.result, g.ldc, sc, count, t.compute, CUBLAS_GEMM_DEFAULT));
  }
  for (std::int64_t i = 0; i < count; ++i)
    if (auto e = one_product(h, g, at(g.a, first(a_offsets, i), t.operand_bytes),
                             at(g.b, first(b_offsets, i), t.operand_bytes), at(g.c, first(c_offsets, i), t.result_bytes));
        !e.empty())
      return e;
  return {};
}

std::string grouped_gemm_fwd_cuda(const GroupedGemmArgs& a, int device) {
  cublasHandle_t h = nullptr;
  if (auto e = handle_for(device, &h); !e.empty()) return e;
  const CublasTypes t = cublas_types(a.types);
  const std::int64_t total = a.offsets[a.groups] - a.offsets[0];
  if (a.out == 0 || total == 0) return {};                                               // nothing to write
  if (a.in == 0) return zero(a.y, a.offsets[0] * a.out, total * a.out, t.result_bytes);  // empty sums
  for (std::int64_t g = 0; g < a.groups; ++g) {
    const std::int64_t begin = a.offsets[g], rows = a.offsets[g + 1] - begin;
    if (rows == 0) continue;
    // y[rows, N] = x[rows, K] w_g[N, K]^T
    GemmArgs p{.types = a.types, .trans_a = false, .trans_b = true, .m = rows, .n = a.out, .k = a.in,
               .lda = a.in, .ldb = a.in, .ldc = a.out};
    if (auto e = one_product(h, p, at(a.x, begin * a.in, t.operand_bytes), at(a.w, g * a.out * a.in, t.operand_bytes),
                             at(a.y, begin * a.out, t.result_bytes));
        !e.empty())
      return e;
  }
  return {};
}

std::string grouped_gemm_bwd_cuda(const GroupedGemmArgs& a, int device) {
  cublasHandle_t h = nullptr;
  if (auto e = handle_for(device, &h); !e.empty()) return e;
  const CublasTypes t = cublas_types(a.types);
  if (a.in == 0) return {};  // dx and dw are empty
  if (a.out == 0) {          // empty sums: dx = 0, and dw is empty
    const std::int64_t total = a.offsets[a.groups] - a.offsets[0];
    return a.dx ? zero(a.dx, a.offsets[0] * a.in, total * a.in, t.result_bytes) : std::string();
  }
  for (std::int64_t g = 0; g < a.groups; ++g) {
    const std::int64_t begin = a.offsets[g], rows = a.offsets[g + 1] - begin;
    if (rows == 0) {
      if (a.dw)
        if (auto e = zero(a.dw, g * a.out * a.in, a.out * a.in, t.result_bytes); !e.empty()) return e;
      continue;
    }
    const void* dy = at(a.dy, begin * a.out, t.operand_bytes);
    if (a.dx) {
      // dx[rows, K] = dy[rows, N] w_g[N, K]
      GemmArgs p{.types = a.types, .m = rows, .n = a.in, .k = a.out, .lda = a.out, .ldb = a.in, .ldc = a.in};
      if (auto e = one_product(h, p, dy, at(a.w, g * a.out * a.in, t.operand_bytes), at(a.dx, begin * a.in, t.result_bytes));
          !e.empty())
        return e;
    }
    if (a.dw) {
      // dw_g[N, K] = dy[rows, N]^T x[rows, K]
      GemmArgs p{.types = a.types, .trans_a = true, .m = a.out, .n = a.in, .k = rows, .lda = a.out, .ldb = a.in,
                 .ldc = a.in};
      if (auto e = one_product(h, p, dy, at(a.x, begin * a.in, t.operand_bytes), at(a.dw, g * a.out * a.in, t.result_bytes));
          !e.empty())
        return e;
    }
  }
  return {};
}

}  // namespace strata::kernels::cuda
