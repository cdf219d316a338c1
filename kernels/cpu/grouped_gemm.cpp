#include "kernels/cpu/grouped_gemm.h"

#include <algorithm>

#include "kernels/cpu/gemm.h"

namespace strata::kernels::cpu {

// One BLAS call per non-empty group, each BLAS-threaded. (Many tiny groups would be
// better served by threading over groups; measured in bench/bench_moe.)
template <class T, class Acc>
void grouped_gemm_fwd_cpu(const GroupedGemmArgs<T, Acc>& a) {
  for (std::int64_t g = 0; g < a.groups; ++g) {
    const std::int64_t r0 = a.offsets[g], m = a.offsets[g + 1] - r0;
    if (m == 0) continue;
    GemmArgs<T, Acc> p;
    p.varying_mk = true;
    p.trans_b = true;
    p.m = m, p.n = a.out, p.k = a.in;
    p.a = a.x + r0 * a.in, p.lda = a.in;
    p.b = a.w + g * a.out * a.in, p.ldb = a.in;
    p.c = a.y + r0 * a.out, p.ldc = a.out;
    gemm_cpu(p);
  }
}

template <class T, class Acc>
void grouped_gemm_bwd_cpu(const GroupedGemmArgs<T, Acc>& a) {
  for (std::int64_t g = 0; g < a.groups; ++g) {
    const std::int64_t r0 = a.offsets[g], m = a.offsets[g + 1] - r0;
    Acc* dw = a.dw ? a.dw + g * a.out * a.in : nullptr;
    if (m == 0) {
      if (dw) std::fill_n(dw, a.out * a.in, Acc(0));
      continue;
    }
    if (a.dx) {  // [m, K] = [m, N] [N, K]
      GemmArgs<T, Acc> p;
      p.varying_mk = true;
    p.varying_mk = true;
      p.m = m, p.n = a.in, p.k = a.out;
      p.a = a.dy + r0 * a.out, p.lda = a.out;
      p.b = a.w + g * a.out * a.in, p.ldb = a.in;
      p.c = a.dx + r0 * a.in, p.ldc = a.in;
      gemm_cpu(p);
    }
    if (dw) {  // [N, K] = [m, N]^T [m, K]
      GemmArgs<T, Acc> p;
      p.varying_mk = true;
    p.varying_mk = true;
      p.trans_a = true;
      p.m = a.out, p.n = a.in, p.k = m;
      p.a = a.dy + r0 * a.out, p.lda = a.out;
      p.b = a.x + r0 * a.in, p.ldb = a.in;
      p.c = dw, p.ldc = a.in;
      gemm_cpu(p);
    }
  }
}

template void grouped_gemm_fwd_cpu<float, float>(const GroupedGemmArgs<float, float>&);
template void grouped_gemm_fwd_cpu<double, double>(const GroupedGemmArgs<double, double>&);
template void grouped_gemm_fwd_cpu<bfloat16, float>(const GroupedGemmArgs<bfloat16, float>&);
template void grouped_gemm_bwd_cpu<float, float>(const GroupedGemmArgs<float, float>&);
template void grouped_gemm_bwd_cpu<double, double>(const GroupedGemmArgs<double, double>&);
template void grouped_gemm_bwd_cpu<bfloat16, float>(const GroupedGemmArgs<bfloat16, float>&);

}  // namespace strata::kernels::cpu
