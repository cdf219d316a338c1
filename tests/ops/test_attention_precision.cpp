// Attention under the bf16 policy: f32 inputs run in bf16 exactly when the backend has a
// bf16 attention kernel that takes the call (cuDNN's on a GPU), else in f32 as before. The
// CPU has no such kernel, so the tests register one: it widens q, k, v to f32, runs the
// f32 kernel and rounds its outputs to bf16, with f32 statistics, as a fused bf16 kernel
// would see and produce them.
#include <functional>
#include <vector>

#include "catch.h"
#include "framework/core/src/backend/core_kernels.h"
#include "helpers.h"
#include "strata/autograd.h"
#include "strata/precision.h"

using namespace strata;
using core_kernels::AttentionCall;
using strata::test::relative_error;

namespace {

// Registers the widening bf16 kernels (forward and backward) for the test's scope; they
// take a call when `takes` says so, and count the calls they ran.
class WideningBf16Attention {
 public:
  explicit WideningBf16Attention(std::function<bool(const AttentionCall&)> takes) {
    auto& table = core_kernels::table();
    forward_id_ = table.attention.add({.backend = "test_bf16",
                                       .device = DeviceType::cpu,
                                       .dtypes = {DType::bf16},
                                       .supports = takes,
                                       .run = [this](const AttentionCall& c) { forward(c); }});
    backward_id_ = table.attention_backward.add({.backend = "test_bf16",
                                                 .device = DeviceType::cpu,
                                                 .dtypes = {DType::bf16},
                                                 .supports = takes,
                                                 .run = [this](const AttentionCall& c) { backward(c); }});
  }
  ~WideningBf16Attention() {
    core_kernels::table().attention.remove(forward_id_);
    core_kernels::table().attention_backward.remove(backward_id_);
  }
  WideningBf16Attention(const WideningBf16Attention&) = delete;
  WideningBf16Attention& operator=(const WideningBf16Attention&) = delete;

  int forwards = 0, backwards = 0;

 private:
  void forward(const AttentionCall& c) {
    REQUIRE(c.lse->dtype() == DType::f32);
    const Tensor q = c.q->to(DType::f32), k = c.k->to(DType::f32), v = c.v->to(DType::f32);
    Tensor out = Tensor::empty(c.out->shape(), DType::f32);
    AttentionCall wide = c;
    wide.q = &q;
    wide.k = &k;
    wide.v = &v;
    wide.out = &out;
    core_kernels::table().attention.run(Device::cpu(), wide);  // f32: the CPU's own kernel
    c.out->copy_(out);                                         // rounded to bf16
    ++forwards;
  }
  void backward(const AttentionCall& c) {
    REQUIRE(c.lse->dtype() == DType::f32);
    REQUIRE(c.dout->dtype() == DType::bf16);
    const Tensor q = c.q->to(DType::f32), k = c.k->to(DType::f32), v = c.v->to(DType::f32);
    Tensor out = c.out->to(DType::f32);
    const Tensor dout = c.dout->to(DType::f32);
    Tensor dq = Tensor::empty(q.shape(), DType::f32), dk = Tensor::empty(k.shape(), DType::f32),
           dv = Tensor::empty(v.shape(), DType::f32);
    AttentionCall wide = c;
    wide.q = &q;
    wide.k = &k;
    wide.v = &v;
    wide.out = &out;
    wide.dout = &dout;
    wide.dq = &dq;
    wide.dk = &dk;
    wide.dv = &dv;
    core_kernels::table().attention_backward.run(Device::cpu(), wide);
    c.dq->copy_(dq);
    c.dk->copy_(dk);
    c.dv->copy_(dv);
    ++backwards;
  }
  std::size_t forward_id_ = 0, backward_id_ = 0;
};

bool equal(const Tensor& a, const Tensor& b) { return test::mismatch(a, b, 0).empty(); }

// x rounded to bf16 and back.
Tensor bf16_rounded(const Tensor& x) { return x.detach().to(DType::bf16).to(DType::f32); }

bool bf16_values(const Tensor& x) { return equal(bf16_rounded(x), x); }

struct Run {
  Tensor out, dq, dk, dv;
};

struct Inputs {
  Tensor q, k, v, w;  // q, w [2, 19, 4, 16], k, v [2, 19, 2, 16] (GQA)
};

// The same values in every dtype (drawn in f32).
Inputs inputs(DType dtype) {
  Generator g(7);
  const auto draw = [&](std::int64_t heads) { return Tensor::randn({2, 19, heads, 16}, g).to(dtype); };
  Inputs in;
  in.q = draw(4);
  in.k = draw(2);
  in.v = draw(2);
  in.w = draw(4);
  return in;
}

// out and the gradients of sum(out * w).
Run run_attention(const AttentionOptions& options, Precision precision, DType dtype = DType::f32) {
  const Inputs in = inputs(dtype);
  const Tensor q = in.q.clone().requires_grad_(), k = in.k.clone().requires_grad_(), v = in.v.clone().requires_grad_();
  const Tensor& w = in.w;
  Tensor out;
  {
    PrecisionGuard guard(precision);
    out = attention(q, k, v, options);
    sum(mul(out, w)).backward();
  }
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

}  // namespace

TEST_CASE("attention under bf16: runs the backend's bf16 kernel when it takes the call, f32 results",
          "[precision][attention]") {
  WideningBf16Attention kernel([](const AttentionCall&) { return true; });
  AttentionOptions window;
  window.window = 5;
  const Run reduced = run_attention(window, Precision::bf16);
  CHECK(kernel.forwards == 1);
  CHECK(kernel.backwards == 1);
  REQUIRE(reduced.out.dtype() == DType::f32);
  REQUIRE(reduced.dq.dtype() == DType::f32);
  // The outputs and the gradients came through bf16 ...
  CHECK(bf16_values(reduced.out));
  CHECK(bf16_values(reduced.dq));
  CHECK(bf16_values(reduced.dk));
  CHECK(bf16_values(reduced.dv));
  // ... the output is the f32 attention of the rounded operands, rounded once ...
  const Inputs in = inputs(DType::f32);
  CHECK(
      equal(reduced.out, bf16_rounded(attention(bf16_rounded(in.q), bf16_rounded(in.k), bf16_rounded(in.v), window))));
  // ... and everything is within bf16 accuracy of f64.
  const Run exact = run_attention(window, Precision::f32, DType::f64);
  CHECK(relative_error(reduced.out, exact.out) < 2e-2);
  CHECK(relative_error(reduced.dq, exact.dq) < 2e-2);
  CHECK(relative_error(reduced.dk, exact.dk) < 2e-2);
  CHECK(relative_error(reduced.dv, exact.dv) < 2e-2);
  CHECK(relative_error(reduced.out, exact.out) > 1e-6);  // and it did round
}

TEST_CASE("attention under bf16: f32 where no bf16 kernel takes the call, and outside the policy",
          "[precision][attention]") {
  const Run plain = run_attention({}, Precision::f32);
  SECTION("no bf16 kernel: the policy keeps attention in f32 (the CPU's case)") {
    const Run reduced = run_attention({}, Precision::bf16);
    CHECK(equal(reduced.out, plain.out));
    CHECK(equal(reduced.dq, plain.dq));
    CHECK(equal(reduced.dv, plain.dv));
  }
  SECTION("a kernel that refuses the call (here: windows only) is not used") {
    WideningBf16Attention kernel([](const AttentionCall& c) { return c.window > 0; });
    const Run reduced = run_attention({}, Precision::bf16);
    CHECK(kernel.forwards == 0);
    CHECK(kernel.backwards == 0);
    CHECK(equal(reduced.out, plain.out));
    CHECK(equal(reduced.dk, plain.dk));
  }
  SECTION("the f32 policy and f64 inputs never use it") {
    WideningBf16Attention kernel([](const AttentionCall&) { return true; });
    CHECK(equal(run_attention({}, Precision::f32).out, plain.out));
    run_attention({}, Precision::bf16, DType::f64);
    CHECK(kernel.forwards == 0);
  }
}

TEST_CASE("attention under bf16: the kernel's lse is f32, bf16 inputs work directly where a kernel exists",
          "[precision][attention]") {
  Generator g(3);
  const Tensor q = Tensor::randn({1, 6, 2, 8}, g).to(DType::bf16);
  const Tensor k = Tensor::randn({1, 6, 2, 8}, g).to(DType::bf16);
  const Tensor v = Tensor::randn({1, 6, 2, 8}, g).to(DType::bf16);
  CHECK_THROWS_AS(attention(q, k, v), NotImplementedError);  // the CPU has no bf16 attention
  WideningBf16Attention kernel([](const AttentionCall&) { return true; });
  const Tensor out = attention(q, k, v);
  CHECK(out.dtype() == DType::bf16);
  CHECK(kernel.forwards == 1);
  CHECK(relative_error(out.to(DType::f32), attention(q.to(DType::f32), k.to(DType::f32), v.to(DType::f32))) < 1e-2);
}
