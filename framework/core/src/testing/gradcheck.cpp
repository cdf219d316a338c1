#include "strata/testing/gradcheck.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "strata/autograd.h"
#include "strata/error.h"
#include "strata/ops/elementwise.h"
#include "strata/ops/reduce.h"

namespace strata::testing {

namespace {

std::string element_name(const Shape& shape, std::int64_t flat) {
  std::string s;
  for (int d = shape.rank() - 1; d >= 0; --d) {
    s = std::to_string(flat % shape[d]) + (s.empty() ? "" : ", ") + s;
    flat /= shape[d];
  }
  return "[" + s + "]";
}

// The elements of an input that get a numeric derivative: all of them, or a fixed
// sample (always including the first and last) when the input is large.
std::vector<std::int64_t> checked_elements(std::int64_t numel, std::int64_t max_elements, Generator& gen) {
  std::vector<std::int64_t> out;
  if (numel <= max_elements) {
    for (std::int64_t i = 0; i < numel; ++i) out.push_back(i);
    return out;
  }
  out.push_back(0);
  out.push_back(numel - 1);
  while (std::int64_t(out.size()) < max_elements) out.push_back(std::int64_t(gen.next_u64() % std::uint64_t(numel)));
  return out;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  // Private leaves, so perturbing them never touches the caller's tensors.
  std::vector<Tensor> leaves;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || !x.requires_grad()) {
      leaves.push_back(x);
      continue;
    }
    if (x.dtype() != DType::f64)
      throw ValueError(
          "gradcheck: input " + std::to_string(i) + " requires grad but is " + std::string(dtype_name(x.dtype())),
          "gradient checks need f64 inputs: central differences in f32 are too coarse");
    if (options.perturb_in_place) {
      Tensor same = x;
      same.set_grad(Tensor());
      leaves.push_back(same);
    } else {
      leaves.push_back(x.detach().clone().requires_grad_());
    }
  }

  Generator weight_gen(options.seed);
  std::vector<Tensor> weights;
  auto objective = [&](const std::vector<Tensor>& outputs) {
    Tensor total;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const Tensor& y = outputs[k];
      if (!y.defined() || !is_floating(y.dtype())) continue;
      if (weights.size() <= k) weights.resize(k + 1);
      if (!weights[k].defined()) weights[k] = Tensor::randn(y.shape(), weight_gen, DType::f64);
      if (weights[k].shape() != y.shape())
        throw ValueError("gradcheck: output " + std::to_string(k) + " changed shape between evaluations");
      const Tensor term = sum(mul(y.to(DType::f64), weights[k]));
      total = total.defined() ? add(total, term) : term;
    }
    return total;
  };
  auto evaluate = [&] {
    autograd::NoGradGuard no_grad;
    const Tensor l = objective(fn(leaves));
    return l.defined() ? l.item<double>() : 0.0;
  };

  GradcheckResult result;
  {
    const Tensor loss = objective(fn(leaves));
    if (loss.defined() && loss.requires_grad()) loss.backward();
  }
  const double base = evaluate();
  if (const double again = evaluate(); again != base && !(std::isnan(base) && std::isnan(again))) {
    result.passed = false;
    result.failure = "the function is not deterministic: two evaluations at the same point gave " +
                     std::to_string(base) + " and " + std::to_string(again);
    return result;
  }

  Generator sample_gen(options.seed + 1);
  double worst_ratio = 0;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    Tensor& x = leaves[i];
    if (!x.defined() || !x.requires_grad()) continue;
    const Tensor grad = x.grad().defined() ? x.grad().contiguous() : Tensor::zeros(x.shape(), DType::f64);
    const double* analytic = grad.data<double>();
    double* value = x.data<double>();
    for (std::int64_t e : checked_elements(x.numel(), options.max_elements, sample_gen)) {
      const double saved = value[e];
      // Restores the element however evaluate() ends (with perturb_in_place these are the
      // caller's tensors, e.g. a module's parameters).
      struct Restore {
        double* slot;
        double v;
        ~Restore() { *slot = v; }
      } restore{value + e, saved};
      value[e] = saved + options.step;
      const double plus = evaluate();
      value[e] = saved - options.step;
      const double minus = evaluate();
      const double numeric = (plus - minus) / (2 * options.step);
      const double err = std::abs(analytic[e] - numeric);
      const double allowed = options.atol + options.rtol * std::abs(numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      const double ratio = std::isfinite(err) ? err / allowed : INFINITY;
      if (ratio > 1 && ratio > worst_ratio) {
        worst_ratio = ratio;
        result.passed = false;
        std::ostringstream os;
        os << std::setprecision(10) << "gradient mismatch at input " << i << " " << element_name(x.shape(), e)
           << " (input shape " << x.shape() << "): analytic " << analytic[e] << ", numeric " << numeric
           << ", |difference| " << err << " > allowed " << allowed;
        result.failure = os.str();
      }
    }
  }
  return result;
}

GradcheckResult gradcheck(const GradcheckFn1& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  return gradcheck(GradcheckFn([&fn](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in)}; }), inputs,
                   options);
}

}  // namespace strata::testing
