// The gradient checker itself: it must pass correct backwards and catch wrong ones.
#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;

namespace {
// x^3 with a backward that is right or off by a factor
Tensor cube(const Tensor& x, double backward_factor) {
  Tensor y = mul(mul(x.detach(), x.detach()), x.detach());
  autograd::record("cube", {x}, {y}, [xs = autograd::SavedTensor(x), backward_factor](const autograd::BackwardArgs& a) {
    const Tensor& v = xs.get();
    return std::vector<Tensor>{mul(a.grad(), scale(mul(v, v), 3.0 * backward_factor))};
  });
  return y;
}
}  // namespace

TEST_CASE("gradcheck passes a correct backward", "[gradcheck]") {
  Generator gen(1);
  const Tensor x = test::leaf({3, 4}, gen);
  const auto r = testing::gradcheck([](const std::vector<Tensor>& in) { return cube(in[0], 1.0); }, {x});
  INFO(r.report());
  CHECK(r.passed);
  CHECK(r.max_abs_error < 1e-7);
}

TEST_CASE("gradcheck catches a wrong backward and says where", "[gradcheck]") {
  Generator gen(1);
  const Tensor x = test::leaf({3, 4}, gen);
  const auto r = testing::gradcheck([](const std::vector<Tensor>& in) { return cube(in[0], 1.01); }, {x});
  CHECK(!r.passed);
  CHECK(r.report().find("gradient mismatch at input 0") != std::string::npos);
}

TEST_CASE("gradcheck catches a backward that ignores one of several outputs", "[gradcheck]") {
  Generator gen(2);
  const Tensor x = test::leaf({5}, gen);
  auto fn = [](const std::vector<Tensor>& in) {
    Tensor a = exp(in[0]);
    Tensor b = scale(in[0].detach(), 2.0);  // gradient path silently dropped
    return std::vector<Tensor>{a, b};
  };
  CHECK(!testing::gradcheck(fn, {x}).passed);
}

TEST_CASE("gradcheck refuses f32 inputs and leaves the caller's tensors alone", "[gradcheck][errors]") {
  Generator gen(3);
  const Tensor x32 = Tensor::randn({3}, gen).requires_grad_();
  REQUIRE_THROWS_AS(testing::gradcheck([](const std::vector<Tensor>& in) { return exp(in[0]); }, {x32}), ValueError);
  const Tensor x = test::leaf({3}, gen);
  const auto before = x.to_vector<double>();
  testing::gradcheck([](const std::vector<Tensor>& in) { return exp(in[0]); }, {x});
  CHECK(x.to_vector<double>() == before);
  CHECK(!x.grad().defined());
}

TEST_CASE("gradcheck samples large inputs", "[gradcheck]") {
  Generator gen(4);
  const Tensor x = test::leaf({100, 100}, gen);
  testing::GradcheckOptions options;
  options.max_elements = 50;
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return tanh(in[0]); }, {x}, options);
}
