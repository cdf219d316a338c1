// Memory-bound ops (elementwise, activations, norms, softmax, cross-entropy, causal conv1d)
// forward and backward, and an AdamW step, in GB/s of compulsory traffic, next to a memcpy
// moving the same number of bytes.
#include <omp.h>

#include <cstring>
#include <memory>
#include <vector>

#include "harness.h"
#include "strata/autograd.h"
#include "strata/ops.h"
#include "strata/optim.h"

using namespace strata;

namespace {

constexpr std::int64_t kRows = 8192, kCols = 1024;  // 8M floats, 32 MiB per tensor
const std::string kShape = "8192x1024";

// memcpy moving `traffic` bytes (half read, half written) as the denominator, split
// across the same threads as the ops.
void register_memcpy(const std::string& group, double traffic) {
  const std::int64_t bytes = std::int64_t(traffic / 2);
  auto src = std::make_shared<std::vector<char>>(std::size_t(bytes), 1);
  auto dst = std::make_shared<std::vector<char>>(std::size_t(bytes));
  bench::add(
      group, "memcpy", kShape, {0, traffic},
      [src, dst, bytes] {
#pragma omp parallel
        {
          const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
          const std::int64_t begin = bytes * t / nt, end = bytes * (t + 1) / nt;
          std::memcpy(dst->data() + begin, src->data() + begin, std::size_t(end - begin));
        }
        bench::keep(dst->data());
      },
      /*reference=*/true);
}

// fwd only: y = f(x) with `reads` input tensors of the full size.
void register_forward(const std::string& group, int tensors_moved,
                      std::function<Tensor(const Tensor&, const Tensor&)> f) {
  Generator gen(3);
  const Tensor x = Tensor::randn({kRows, kCols}, gen), y = Tensor::randn({kRows, kCols}, gen);
  const double traffic = double(tensors_moved) * kRows * kCols * 4;
  register_memcpy(group, traffic);
  bench::add(group, "strata", kShape, {0, traffic}, [x, y, f] {
    autograd::NoGradGuard no_grad;
    const Tensor out = f(x, y);
    bench::keep(out.raw_data());
  });
}

// fwd + bwd through the tape: x requires grad, the upstream gradient is a fixed tensor.
void register_fwd_bwd(const std::string& group, int tensors_moved, std::function<Tensor(const Tensor&)> f) {
  Generator gen(4);
  auto x = std::make_shared<Tensor>(Tensor::randn({kRows, kCols}, gen).requires_grad_());
  const Tensor g = Tensor::randn(f(x->detach()).shape(), gen);
  const double traffic = double(tensors_moved) * kRows * kCols * 4;
  register_memcpy(group, traffic);
  bench::add(group, "strata", kShape, {0, traffic}, [x, g, f] {
    x->set_grad(Tensor());  // adopt the fresh gradient instead of accumulating into an old one
    f(*x).backward(g);
    bench::keep(x->grad().raw_data());
  });
}

// One AdamW step over 8M parameters: reads parameter, gradient and both moments, writes
// parameter and both moments (7 tensors).
void register_adamw() {
  Generator gen(10);
  auto param = std::make_shared<Tensor>(Tensor::randn({kRows, kCols}, gen).requires_grad_());
  param->set_grad(mul(Tensor::randn({kRows, kCols}, gen), 1e-3));
  auto optimizer = std::make_shared<AdamW>(std::vector<NamedParameter>{{"w", *param, true}}, AdamWOptions{});
  const double traffic = 7.0 * kRows * kCols * 4;
  register_memcpy("adamw step", traffic);
  bench::add("adamw step", "strata", kShape, {0, traffic}, [param, optimizer] {
    optimizer->step(1e-4);
    bench::keep(param->raw_data());
  });
}

}  // namespace

int main(int argc, char** argv) {
  // forward: add reads 2, writes 1
  register_forward("add fwd", 3, [](const Tensor& a, const Tensor& b) { return add(a, b); });
  // fwd: read x, write y; bwd: read x (or y), read g, write dx
  register_fwd_bwd("silu fwd+bwd", 5, [](const Tensor& x) { return silu(x); });
  register_fwd_bwd("exp fwd+bwd", 5, [](const Tensor& x) { return exp(x); });
  {
    Generator gen(7);
    const Tensor w = Tensor::randn({kRows, kCols}, gen);  // a constant operand: fwd 3 tensors, bwd 3
    register_fwd_bwd("mul fwd+bwd", 6, [w](const Tensor& x) { return mul(x, w); });
  }
  {
    Generator gen(5);
    const Tensor w = Tensor::randn({kCols}, gen);
    register_fwd_bwd("rmsnorm fwd+bwd", 5, [w](const Tensor& x) { return rmsnorm(x, w); });
  }
  register_fwd_bwd("softmax fwd+bwd", 5, [](const Tensor& x) { return softmax(x); });
  // fused [gate | up] of 2H = 1024: fwd reads 2H writes H; bwd reads 2H + H, writes 2H
  register_fwd_bwd("swiglu fwd+bwd", 4, [](const Tensor& x) { return swiglu(x); });
  {
    // softmax-cross-entropy over 8192 rows of 1024 logits: fwd reads the logits; bwd reads
    // them again and writes their gradient (the targets are 8192 ids: negligible)
    Generator gen(8);
    const Tensor targets = Tensor::randint({kRows}, 0, kCols, gen);
    register_fwd_bwd("cross_entropy fwd+bwd", 3, [targets](const Tensor& x) { return cross_entropy(x, targets); });
  }
  {
    // Mamba's depthwise causal conv1d, kernel 4, as [B=8, T=1024, D=1024]: fwd reads x,
    // writes y; bwd reads x and g, writes dx (the [D, 4] weight and its gradient: negligible)
    Generator gen(9);
    const Tensor w = mul(Tensor::randn({kCols, 4}, gen), 0.5);
    register_fwd_bwd("causal_conv1d fwd+bwd", 5,
                     [w](const Tensor& x) { return causal_conv1d(x.reshape({8, kRows / 8, kCols}), w); });
  }
  register_adamw();
  return bench::run(argc, argv, "strata bench: memory-bound ops vs memcpy of the same bytes");
}
