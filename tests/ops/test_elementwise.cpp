#include <cmath>
#include <functional>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::leaf;
using strata::test::values;

TEST_CASE("binary ops broadcast like numpy", "[ops][elementwise]") {
  const Tensor a = values({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = values({10, 20, 30}, {3});
  CHECK(add(a, b).to_vector<double>() == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK(sub(b, a).to_vector<double>() == std::vector<double>{9, 18, 27, 6, 15, 24});
  const Tensor col = values({2, 4}, {2, 1});
  CHECK(mul(a, col).to_vector<double>() == std::vector<double>{2, 4, 6, 16, 20, 24});
  CHECK(div(a, col).to_vector<double>() == std::vector<double>{0.5, 1, 1.5, 1, 1.25, 1.5});
  CHECK(add(col, b).shape() == Shape{2, 3});
  CHECK((a * 2.0 + 1.0).to_vector<double>() == std::vector<double>{3, 5, 7, 9, 11, 13});
  CHECK((-a).to_vector<double>()[0] == -1);
  // non-contiguous operands
  CHECK(add(a.transpose(0, 1), values({1, 1}, {2})).to_vector<double>() == std::vector<double>{2, 5, 3, 6, 4, 7});
}

TEST_CASE("broadcasting backward sums over the broadcast dims (hand-computed)", "[ops][elementwise]") {
  Tensor a = values({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor b = values({10, 20, 30}, {3}).requires_grad_();
  Tensor c = values({2, 4}, {2, 1}).requires_grad_();
  sum(mul(add(a, b), c)).backward();
  // d/da = c broadcast; d/db = sum over rows of c = 6; d/dc = row sums of (a + b)
  CHECK(a.grad().to_vector<double>() == std::vector<double>{2, 2, 2, 4, 4, 4});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{6, 6, 6});
  CHECK(c.grad().to_vector<double>() == std::vector<double>{66, 75});
}

TEST_CASE("binary ops gradcheck with broadcasting and strided inputs", "[ops][elementwise][gradcheck]") {
  Generator gen(10);
  const Tensor a = leaf({2, 1, 4}, gen), b = leaf({3, 1}, gen);
  const Tensor pos = add(mul(exp(leaf({3, 1}, gen)), 1.0), 0.5).detach().requires_grad_();
  using Fn = std::function<Tensor(const Tensor&, const Tensor&)>;
  for (const auto& [name, fn] : {std::pair<const char*, Fn>{"add", [](auto&x, auto&y) { return add(x, y); }},
                                 {"sub", [](auto&x, auto&y) { return sub(x, y); }},
                                 {"mul", [](auto&x, auto&y) { return mul(x, y); }},
                                 {"div", [](auto&x, auto&y) { return div(x, y); }}}) {
    INFO(name);
    const Tensor& rhs = std::string(name) == "div" ? pos : b;
    STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return fn(in[0], in[1]); }, {a, rhs});
    STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return fn(in[0].transpose(0, 2), in[1]); }, {a, rhs});
  }
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return mul(in[0], in[0]); }, {b});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return add(scale(in[0], -2.5), 3.0); }, {a});
  STRATA_REQUIRE_GRADCHECK([](const std::vector<Tensor>& in) { return neg(in[0]); }, {a});
}

namespace {
struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // input range for the value test and gradcheck
};

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }

std::vector<UnaryCase> unary_cases() {
  const double k = std::sqrt(2 / M_PI);
  return {
      {"exp", [](auto& x) { return exp(x); }, [](double x) { return std::exp(x); }, -5, 5},
      {"log", [](auto& x) { return log(x); }, [](double x) { return std::log(x); }, 0.1, 10},
      {"sqrt", [](auto& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.1, 10},
      {"square", [](auto& x) { return square(x); }, [](double x) { return x * x; }, -3, 3},
      {"tanh", [](auto& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -4, 4},
      {"sigmoid", [](auto& x) { return sigmoid(x); }, sigmoid_ref, -8, 8},
      {"relu", [](auto& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -3, 3},
      {"silu", [](auto& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); }, -6, 6},
      {"gelu", [](auto& x) { return gelu(x); }, [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
       -5, 5},
      {"gelu_tanh", [](auto& x) { return gelu(x, GeluApprox::tanh); },
       [k](double x) { return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x))); }, -5, 5},
      {"softplus", [](auto& x) { return softplus(x); }, [](double x) { return std::log1p(std::exp(x)); }, -10, 10},
      {"softplus_beta2", [](auto& x) { return softplus(x, 2.0, 20.0); },
       [](double x) { return 2 * x > 20 ? x : std::log1p(std::exp(2 * x)) / 2; }, -15, 15},
  };
}
}  // namespace

TEST_CASE("pointwise functions match the reference formulas in f32 and f64", "[ops][elementwise]") {
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    std::vector<double> xs;
    for (int i = 0; i <= 1000; ++i) xs.push_back(c.lo + (c.hi - c.lo) * i / 1000.0 + 1e-4);  // avoid relu's kink
    const Tensor x64 = Tensor::from_vector(xs, {std::int64_t(xs.size())});
    std::vector<double> expected;
    for (double x : xs) expected.push_back(c.ref(x));
    const Tensor want = Tensor::from_vector(expected, {std::int64_t(xs.size())});
    STRATA_REQUIRE_CLOSE(c.op(x64), want, 1e-12, 1e-12);
    STRATA_REQUIRE_CLOSE(c.op(x64.to(DType::f32)), want, 2e-6, 2e-6);
  }
}

TEST_CASE("pointwise functions gradcheck", "[ops][elementwise][gradcheck]") {
  Generator gen(11);
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    // (random inputs land within the step of relu's kink at 0 with negligible probability)
    const Tensor x = Tensor::rand({3, 5}, gen, DType::f64, c.lo, c.hi).requires_grad_();
    STRATA_REQUIRE_GRADCHECK([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x});
  }
}

TEST_CASE("f32 backward of pointwise functions matches f64", "[ops][elementwise]") {
  Generator gen(12);
  for (const UnaryCase& c : unary_cases()) {
    INFO(c.name);
    const Tensor x64 = Tensor::rand({1001}, gen, DType::f64, c.lo, c.hi);
    const Tensor g64 = Tensor::randn({1001}, gen, DType::f64);
    Tensor a = x64.detach().requires_grad_();
    c.op(a).backward(g64);
    Tensor b = x64.to(DType::f32).requires_grad_();
    c.op(b).backward(g64.to(DType::f32));
    STRATA_REQUIRE_CLOSE(b.grad(), a.grad(), 1e-5, 1e-5);
  }
}

TEST_CASE("pointwise edge values", "[ops][elementwise]") {
  const Tensor x = Tensor::from_vector({-1000.0, -50.0, 0.0, 100.0, 1000.0}, {5});
  for (DType dt : {DType::f32, DType::f64}) {
    const auto s = sigmoid(x.to(dt)).to_vector<double>();
    CHECK(s[0] == 0.0);
    CHECK(s[2] == 0.5);
    CHECK(s[4] == 1.0);
    const auto sp = softplus(x.to(dt)).to_vector<double>();
    CHECK(sp[0] == Approx(0.0).margin(1e-30));
    CHECK(sp[1] == Approx(std::exp(-50.0)).epsilon(1e-5));  // log1p keeps tiny values
    CHECK(sp[4] == 1000.0);
    const auto si = silu(x.to(dt)).to_vector<double>();
    CHECK(si[0] == Approx(0.0).margin(1e-30));
    CHECK(si[4] == 1000.0);
  }
  CHECK(std::isnan(relu(Tensor::from_vector({NAN}, {1})).item()));
}

TEST_CASE("elementwise errors name the op and both operands", "[ops][elementwise][errors]") {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4});
  REQUIRE_THROWS_WITH(add(a, b), Catch::Contains("add: shapes [2, 3] and [4] do not broadcast"));
  REQUIRE_THROWS_WITH(mul(a, Tensor::zeros({3}, DType::f64)), Catch::Contains("mul: inputs have different dtypes"));
  REQUIRE_THROWS_WITH(exp(Tensor::zeros({3}, DType::i64)), Catch::Contains("exp: argument 'x' must be floating (f32, f64, bf16, f16), got i64"));
  REQUIRE_THROWS_AS(softplus(a, 0.0), ValueError);
}
