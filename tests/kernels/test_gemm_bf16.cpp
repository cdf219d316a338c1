// bf16 x bf16 -> f32 products: oneDNN's path and the path without it (f32 products of the
// widened operands) agree with a plain double-precision loop over the same bf16 values,
// for every transpose, with row strides wider than the rows and beta accumulation.
#include <cmath>
#include <random>
#include <vector>

#include "catch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/onednn_matmul.h"

using namespace strata;
using namespace strata::kernels::cpu;

TEST_CASE("gemm bf16: oneDNN and the widened fallback both equal the plain product of the bf16 values", "[kernels][half]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  const std::int64_t m = 37, n = 45, k = 70, pad = 3;
  for (bool onednn : {true, false}) {
    set_onednn_enabled(onednn);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("oneDNN " << onednn << ", trans_a " << ta << ", trans_b " << tb);
        // stored extents: A is [m, k] or [k, m], B is [k, n] or [n, k]; rows padded by `pad`
        const std::int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
        const std::int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
        std::vector<bfloat16> a(std::size_t(a_rows * lda)), b(std::size_t(b_rows * ldb));
        for (auto& v : a) v = bfloat16(normal(rng));
        for (auto& v : b) v = bfloat16(normal(rng));
        std::vector<float> c(std::size_t(m * ldc)), start(c.size());
        for (auto& v : start) v = normal(rng);
        c = start;
        GemmArgs<bfloat16, float> g;
        g.trans_a = ta, g.trans_b = tb;
        g.m = m, g.n = n, g.k = k;
        g.alpha = 0.5f, g.beta = 1.0f;
        g.a = a.data(), g.lda = lda, g.b = b.data(), g.ldb = ldb, g.c = c.data(), g.ldc = ldc;
        gemm_cpu(g);
        double worst = 0;
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < n; ++j) {
            double ref = 0;
            for (std::int64_t p = 0; p < k; ++p) {
              const float x = float(ta ? a[std::size_t(p * lda + i)] : a[std::size_t(i * lda + p)]);
              const float y = float(tb ? b[std::size_t(j * ldb + p)] : b[std::size_t(p * ldb + j)]);
              ref += double(x) * double(y);
            }
            ref = 0.5 * ref + start[std::size_t(i * ldc + j)];
            worst = std::max(worst, std::abs(double(c[std::size_t(i * ldc + j)]) - ref));
          }
        CHECK(worst < 1e-4);  // f32 accumulation of exact bf16 products
        CHECK(c[std::size_t(n)] == start[std::size_t(n)]);  // the padding between rows is untouched
      }
  }
  set_onednn_enabled(true);
}
