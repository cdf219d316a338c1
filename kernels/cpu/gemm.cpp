#include "kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/onednn_matmul.h"
#include "kernels/cpu/parallel.h"

// OpenBLAS extensions (declared in OpenBLAS's cblas.h; restated so other CBLAS
// headers work too).
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_parallel(void);
char* openblas_get_config(void);
}

namespace strata::kernels::cpu {

namespace {

// Products below this many FLOPs gain more from batch-level threads than from BLAS's.
constexpr double kSmallGemmFlops = 2.0 * 96 * 96 * 96;

// Products from this many FLOPs go to oneDNN's matmul (AVX-512 where BLAS is held to
// AVX2 or below); smaller ones stay with BLAS, whose per-call cost is lower.
constexpr double kOneDnnMinFlops = 2.0 * 48 * 48 * 48;

template <class T>
MatmulArgs matmul_args(const GemmArgs<T, float>& g, MatmulOperands operands) {
  MatmulArgs m;
  m.operands = operands;
  m.trans_a = g.trans_a;
  m.trans_b = g.trans_b;
  m.m = g.m, m.n = g.n, m.k = g.k;
  m.alpha = g.alpha;
  m.beta = g.beta;
  m.a = g.a, m.lda = g.lda;
  m.b = g.b, m.ldb = g.ldb;
  m.c = g.c, m.ldc = g.ldc;
  m.varying_mk = g.varying_mk;
  return m;
}

void blas_gemm(const GemmArgs<float>& g) {
  // Inside an OpenMP region, of any team size (a kernel threaded over its own tasks, as the SSD scan over
  // heads) the product is one task's: single-threaded BLAS, without oneDNN's per-call
  // dispatch and threading (measured: oneDNN there cost Mamba-2 training about half its time).
  if (omp_get_level() == 0 && 2.0 * double(g.m) * double(g.n) * double(g.k) >= kOneDnnMinFlops &&
      onednn_matmul(matmul_args(g, MatmulOperands::f32)))
    return;
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans, int(g.m),
              int(g.n), int(g.k), g.alpha, g.a, int(g.lda), g.b, int(g.ldb), g.beta, g.c, int(g.ldc));
}
void blas_gemm(const GemmArgs<double>& g) {
  cblas_dgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans, int(g.m),
              int(g.n), int(g.k), g.alpha, g.a, int(g.lda), g.b, int(g.ldb), g.beta, g.c, int(g.ldc));
}

// bf16 x bf16 -> f32: oneDNN, or (without it, or on a CPU it has no kernel for) the f32
// product of the widened operands.
void blas_gemm(const GemmArgs<bfloat16, float>& g) {
  if (onednn_matmul(matmul_args(g, MatmulOperands::bf16))) return;
  // widened copies of the stored extents: rows x row stride of each operand
  auto widen = [](const bfloat16* x, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
    std::vector<float> out(std::size_t(rows * ld));
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) out[std::size_t(r * ld + c)] = float(x[r * ld + c]);
    return out;
  };
  const std::vector<float> a = g.trans_a ? widen(g.a, g.k, g.m, g.lda) : widen(g.a, g.m, g.k, g.lda);
  const std::vector<float> b = g.trans_b ? widen(g.b, g.n, g.k, g.ldb) : widen(g.b, g.k, g.n, g.ldb);
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans, int(g.m),
              int(g.n), int(g.k), g.alpha, a.data(), int(g.lda), b.data(), int(g.ldb), g.beta, g.c, int(g.ldc));
}

}  // namespace

template <class T, class Acc>
void gemm_cpu(const GemmArgs<T, Acc>& args) {
  if (args.m == 0 || args.n == 0) return;
  if (args.k == 0) {  // an empty sum: C = beta C (BLAS implementations differ here)
    for (std::int64_t i = 0; i < args.m; ++i)
      for (std::int64_t j = 0; j < args.n; ++j) {
        Acc& c = args.c[i * args.ldc + j];
        c = args.beta == Acc(0) ? Acc(0) : args.beta * c;
      }
    return;
  }
  // CBLAS takes int sizes: refuse what would be silently truncated
  constexpr std::int64_t kMax = std::numeric_limits<int>::max();
  if (args.m > kMax || args.n > kMax || args.k > kMax || args.lda > kMax || args.ldb > kMax || args.ldc > kMax)
    throw std::length_error("gemm: a size or row stride exceeds the 32-bit range of CBLAS");
  blas_gemm(args);
}

template <class T, class Acc>
void gemm_batched_cpu(const GemmArgs<T, Acc>& args, std::int64_t count, const std::int64_t* a_offsets,
                      const std::int64_t* b_offsets, const std::int64_t* c_offsets) {
  auto one = [&](std::int64_t i) {
    GemmArgs<T, Acc> g = args;
    g.a = args.a + a_offsets[i];
    g.b = args.b + b_offsets[i];
    g.c = args.c + c_offsets[i];
    gemm_cpu(g);
  };
  const double flops = 2.0 * double(args.m) * double(args.n) * double(args.k);
#ifdef STRATA_BLAS_OPENMP
  if (flops < kSmallGemmFlops && count > 1) {
    // OpenMP BLAS sees omp_in_parallel() and stays single-threaded inside each task.
    parallel_for(count, std::max<std::int64_t>(1, std::int64_t(kSmallGemmFlops / std::max(flops, 1.0))),
                 [&](std::int64_t i0, std::int64_t i1) {
                   for (std::int64_t i = i0; i < i1; ++i) one(i);
                 });
    return;
  }
#else
  (void)flops;
#endif
  for (std::int64_t i = 0; i < count; ++i) one(i);
}

// OpenMP never starts more threads than OMP_THREAD_LIMIT, but omp_get_max_threads() (by
// which OpenBLAS splits a product among threads that then wait for each other) ignores the
// limit: a product then hangs, or leaves part of its output unwritten (a training run
// diverged at step 1). So the thread count is capped at the limit, here and at load time.
void set_cpu_threads(int threads) {
  threads = std::clamp(threads, 1, std::max(omp_get_thread_limit(), 1));
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int cpu_threads() { return std::min(omp_get_max_threads(), omp_get_thread_limit()); }

namespace {
[[maybe_unused]] const bool kThreadLimitApplied = [] {
  if (omp_get_thread_limit() < omp_get_max_threads()) set_cpu_threads(omp_get_thread_limit());
  return true;
}();
}  // namespace

std::string blas_description() {
  const char* model = "unknown threading";
  switch (openblas_get_parallel()) {
    case 0:
      model = "sequential";
      break;
    case 1:
      model = "pthreads";
      break;
    case 2:
      model = "OpenMP";
      break;
  }
  return std::string(openblas_get_config()) + " (" + model + "); " + onednn_description();
}

template void gemm_cpu<float, float>(const GemmArgs<float, float>&);
template void gemm_cpu<double, double>(const GemmArgs<double, double>&);
template void gemm_cpu<bfloat16, float>(const GemmArgs<bfloat16, float>&);
template void gemm_batched_cpu<float, float>(const GemmArgs<float, float>&, std::int64_t, const std::int64_t*,
                                             const std::int64_t*, const std::int64_t*);
template void gemm_batched_cpu<double, double>(const GemmArgs<double, double>&, std::int64_t, const std::int64_t*,
                                               const std::int64_t*, const std::int64_t*);
template void gemm_batched_cpu<bfloat16, float>(const GemmArgs<bfloat16, float>&, std::int64_t, const std::int64_t*,
                                                const std::int64_t*, const std::int64_t*);

}  // namespace strata::kernels::cpu
