// strata's matmul/linear ops against raw cblas_sgemm on the same shapes, same threads,
// same process. Issue 2's bar: the op reaches >= 0.9x of raw sgemm at [4096 x 512] x [512 x 2048].
#include <cblas.h>

#include <string>

#include "harness.h"
#include "strata/autograd.h"
#include "strata/ops.h"

using namespace strata;

namespace {

std::string dims(std::int64_t m, std::int64_t k, std::int64_t n) {
  return std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
}

void register_gemm(std::int64_t M, std::int64_t K, std::int64_t N) {
  Generator gen(1);
  const Tensor a = Tensor::randn({M, K}, gen), b = Tensor::randn({K, N}, gen);
  auto c = std::make_shared<Tensor>(Tensor::empty({M, N}));
  const bench::Work work{2.0 * double(M) * double(N) * double(K), 0};
  const std::string name = dims(M, K, N);
  bench::add(
      "matmul", "cblas_sgemm", name, work,
      [a, b, c, M, N, K] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N), int(K), 1.0f, a.data<float>(), int(K),
                    b.data<float>(), int(N), 0.0f, c->data<float>(), int(N));
        bench::keep(c->data<float>());
      },
      /*reference=*/true);
  bench::add("matmul", "strata matmul", name, work, [a, b] {
    autograd::NoGradGuard no_grad;
    const Tensor out = matmul(a, b);
    bench::keep(out.raw_data());
  });
  // the same product as a linear layer with the weight stored [out, in] (B^T)
  const Tensor w = b.transpose(0, 1).contiguous();
  bench::add("matmul", "strata linear", name, work, [a, w] {
    autograd::NoGradGuard no_grad;
    const Tensor out = linear(a, w);
    bench::keep(out.raw_data());
  });
}

// Many small products: strata threads over the batch, the reference loops over cblas.
void register_batched(std::int64_t batch, std::int64_t n) {
  Generator gen(2);
  const Tensor a = Tensor::randn({batch, n, n}, gen), b = Tensor::randn({batch, n, n}, gen);
  auto c = std::make_shared<Tensor>(Tensor::empty({batch, n, n}));
  const bench::Work work{2.0 * double(batch) * double(n) * double(n) * double(n), 0};
  const std::string name = std::to_string(batch) + "x[" + dims(n, n, n) + "]";
  bench::add(
      "batched matmul", "cblas_sgemm loop", name, work,
      [a, b, c, batch, n] {
        for (std::int64_t i = 0; i < batch; ++i)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(n), int(n), 1.0f,
                      a.data<float>() + i * n * n, int(n), b.data<float>() + i * n * n, int(n), 0.0f,
                      c->data<float>() + i * n * n, int(n));
        bench::keep(c->data<float>());
      },
      /*reference=*/true);
  bench::add("batched matmul", "strata matmul", name, work, [a, b] {
    autograd::NoGradGuard no_grad;
    const Tensor out = matmul(a, b);
    bench::keep(out.raw_data());
  });
}

}  // namespace

int main(int argc, char** argv) {
  register_gemm(4096, 512, 2048);
  register_gemm(512, 512, 512);
  register_gemm(2048, 2048, 2048);
  register_gemm(8192, 256, 768);
  register_batched(64, 64);
  register_batched(256, 32);
  return bench::run(argc, argv, "strata bench: matmul vs raw BLAS");
}
