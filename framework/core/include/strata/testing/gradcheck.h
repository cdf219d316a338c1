#pragma once
// Gradient checking by central differences, for tests of ops, components and plugins.
//
//   using namespace strata;
//   Generator gen(1);
//   Tensor x = Tensor::randn({3, 4}, gen, DType::f64).requires_grad_();
//   auto result = testing::gradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]); }, {x});
//   REQUIRE(result);  // on failure, result.report() says which input and element disagree
//
// The function's outputs are reduced to a scalar L = sum_k <w_k, y_k> with fixed random
// weights w_k (so every output element matters, with a different weight each); the
// analytic gradient of L from backward() is compared, element by element, with
// (L(x + h) - L(x - h)) / 2h for every input that requires grad. Use f64 inputs.
#include <functional>
#include <string>
#include <vector>

#include "strata/tensor.h"

namespace strata::testing {

struct GradcheckOptions {
  double step = 1e-6;  // h
  double atol = 1e-7;  // pass when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  std::uint64_t seed = 1701;         // for the output weights w_k
  std::int64_t max_elements = 4096;  // per input; larger inputs are checked on a fixed sample
  // Perturb the given input tensors themselves rather than private copies. For tensors
  // that `fn` reads implicitly, such as a module's parameters: pass them as inputs and
  // ignore them in fn. Their .grad is reset first and holds the analytic gradient after.
  bool perturb_in_place = false;
};

struct GradcheckResult {
  bool passed = true;
  double max_abs_error = 0;  // over all checked elements
  std::string failure;       // input, element, analytic and numeric values of the worst element
  explicit operator bool() const { return passed; }
  const std::string& report() const { return failure; }
};

using GradcheckFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)>;
using GradcheckFn1 = std::function<Tensor(const std::vector<Tensor>& inputs)>;

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
GradcheckResult gradcheck(const GradcheckFn1& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace strata::testing
