// The cost of the tape: a chain of tiny ops (16 elements, so the arithmetic is nothing),
// timed per op with grad mode off, with the tape recorded, and with the backward pass.
#include <memory>

#include "harness.h"
#include "strata/autograd.h"
#include "strata/ops.h"

using namespace strata;

namespace {
constexpr int kChain = 1000;

Tensor chain(const Tensor& x) {
  Tensor y = x;
  for (int i = 0; i < kChain; ++i) y = (i % 2) ? mul(y, 0.999) : add(y, 0.001);
  return y;
}
}  // namespace

int main(int argc, char** argv) {
  Generator gen(6);
  const Tensor base = Tensor::randn({16}, gen);
  // times are per chain of 1000 ops: divide by 1000 for the per-op cost
  bench::add(
      "tiny-op chain x1000", "no grad", "16 floats", {},
      [base] {
        autograd::NoGradGuard no_grad;
        bench::keep(chain(base).raw_data());
      },
      /*reference=*/true);
  auto x = std::make_shared<Tensor>(base.clone().requires_grad_());
  bench::add("tiny-op chain x1000", "recorded", "16 floats", {}, [x] { bench::keep(chain(*x).raw_data()); });
  bench::add("tiny-op chain x1000", "recorded + backward", "16 floats", {}, [x] {
    x->set_grad(Tensor());
    sum(chain(*x)).backward();
    bench::keep(x->grad().raw_data());
  });
  return bench::run(argc, argv, "strata bench: autograd overhead per op (divide times by 1000)");
}
