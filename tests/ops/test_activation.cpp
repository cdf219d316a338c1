#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;

TEST_CASE("swiglu equals silu(gate) * up, fused or not", "[ops][activation]") {
  Generator gen(60);
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor gate = Tensor::randn({3, 4, 19}, gen, dt, 0.0, 3.0), up = Tensor::randn({3, 4, 19}, gen, dt);
    const double tol = dt == DType::f32 ? 1e-6 : 1e-14;
    STRATA_REQUIRE_CLOSE(swiglu(gate, up), mul(silu(gate), up), tol, tol);
    STRATA_REQUIRE_CLOSE(swiglu(concat({gate, up}, -1)), mul(silu(gate), up), tol, tol);
  }
}

TEST_CASE("swiglu gradchecks", "[ops][activation][gradcheck]") {
  Generator gen(61);
  const Tensor gate = leaf({2, 3, 5}, gen, 2.0), up = leaf({2, 3, 5}, gen);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return swiglu(in[0], in[1]); }, {gate, up});
  const Tensor fused = leaf({2, 3, 10}, gen, 2.0);
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return swiglu(in[0]); }, {fused});
  // f32 backward agrees with f64 (the vector path)
  Tensor g64 = fused.detach().requires_grad_();
  Tensor g32 = fused.to(DType::f32).detach().requires_grad_();
  const Tensor seed = Tensor::randn({2, 3, 5}, gen, DType::f64);
  swiglu(g64).backward(seed);
  swiglu(g32).backward(seed.to(DType::f32));
  STRATA_REQUIRE_CLOSE(g32.grad(), g64.grad(), 1e-5, 1e-5);
}

TEST_CASE("swiglu errors", "[ops][activation][errors]") {
  REQUIRE_THROWS_WITH(swiglu(Tensor::zeros({2, 3}), Tensor::zeros({2, 4})),
                      Catch::Contains("must have the same shape"));
  REQUIRE_THROWS_WITH(swiglu(Tensor::zeros({2, 3})), Catch::Contains("needs an even last dim"));
}
