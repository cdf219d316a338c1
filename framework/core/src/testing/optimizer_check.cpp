// strata check for optimizers: build, state, minimising a quadratic, parameters without a
// gradient left alone, and the saved state resuming bit for bit.
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "strata/autograd.h"
#include "strata/ops.h"
#include "strata/testing/component_check.h"
#include "testing/check_items.h"

namespace strata::testing {

namespace {

struct Problem {
  std::vector<NamedParameter> params;  // p, with the last one exempt from weight decay
  std::vector<Tensor> targets;
  Tensor untouched;  // a parameter that never gets a gradient
};

Problem make_problem(std::uint64_t seed) {
  Generator gen(seed);
  Problem p;
  const std::vector<Shape> shapes = {{4, 3}, {5}, {2, 2}};
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    p.params.push_back({"p" + std::to_string(i), Tensor::randn(shapes[i], gen, DType::f64).requires_grad_(),
                        i + 1 < shapes.size()});
    p.targets.push_back(Tensor::randn(shapes[i], gen, DType::f64));
  }
  p.untouched = Tensor::randn({3}, gen, DType::f64).requires_grad_();
  p.params.push_back({"untouched", p.untouched, true});
  return p;
}

// Sets the gradients of 0.5 ||p - target||^2 (untouched gets none); returns the loss.
double set_gradients(const Problem& p) {
  autograd::NoGradGuard no_grad;
  double loss = 0;
  for (std::size_t i = 0; i < p.targets.size(); ++i) {
    const Tensor diff = sub(p.params[i].tensor, p.targets[i]);
    loss += 0.5 * sum(square(diff)).item();
    Tensor param = p.params[i].tensor;
    param.set_grad(diff.contiguous());
  }
  return loss;
}

std::shared_ptr<Optimizer> build(const ComponentRegistry& registry, const Config& config, Generator& gen) {
  BuildContext ctx;
  ctx.gen = &gen;
  ctx.registry = &registry;
  return registry.create<Optimizer>(config, ctx);
}

}  // namespace

CheckReport check_optimizer(const ComponentRegistry& registry, const Config& config, const ComponentCheckOptions& o) {
  CheckReport report;
  report.component = "optimizer " + config.type();
  Generator gen(o.seed);
  Problem problem = make_problem(o.seed);
  std::shared_ptr<Optimizer> opt;
  report.items.push_back(run_check("build and state", [&](CheckItem& item) {
    opt = build(registry, config, gen);
    opt->set_parameters(problem.params);
    std::set<std::string> names;
    for (const auto& [name, tensor] : opt->state()) {
      if (!names.insert(name).second) {
        item.passed = false;
        item.detail = "the state name '" + name + "' is used twice";
        return;
      }
      if (!all_finite(tensor)) {
        item.passed = false;
        item.detail = "the initial state '" + name + "' is not finite";
        return;
      }
    }
    item.detail = std::to_string(names.size()) + " state tensors for " + std::to_string(problem.params.size()) +
                  " parameters";
  }));
  if (!opt) return report;

  const Tensor untouched_before = problem.untouched.detach().clone();
  report.items.push_back(run_check("minimises a quadratic", [&](CheckItem& item) {
    const double first = set_gradients(problem);
    double last = first;
    for (int step = 0; step < o.optimizer_steps; ++step) {
      opt->step(o.optimizer_lr);
      last = set_gradients(problem);
    }
    if (!(last < 0.05 * first)) {
      item.passed = false;
      item.detail = "0.5 ||p - target||^2 went from " + fmt(first) + " to " + fmt(last) + " in " +
                    std::to_string(o.optimizer_steps) + " steps at lr " + fmt(o.optimizer_lr);
      return;
    }
    item.detail = fmt(first) + " -> " + fmt(last) + " in " + std::to_string(o.optimizer_steps) + " steps";
  }));

  report.items.push_back(run_check("parameters without a gradient are left alone", [&](CheckItem& item) {
    if (max_abs_diff(problem.untouched, untouched_before) != 0) {
      item.passed = false;
      item.detail = "a parameter that never had a gradient changed";
    }
  }));

  report.items.push_back(run_check("the saved state resumes bit for bit", [&](CheckItem& item) {
    // A second optimizer on copies of the parameters, loaded from the first one's state.
    Problem copy = make_problem(o.seed);
    for (std::size_t i = 0; i < copy.params.size(); ++i) {
      Tensor t = copy.params[i].tensor;
      autograd::NoGradGuard no_grad;
      t.copy_(problem.params[i].tensor);
    }
    Generator gen2(o.seed);
    std::shared_ptr<Optimizer> resumed = build(registry, config, gen2);
    resumed->set_parameters(copy.params);
    std::map<std::string, Tensor, std::less<>> saved;
    for (const auto& [name, tensor] : opt->state()) saved.emplace(name, tensor.detach().clone());
    resumed->load_state(opt->steps_taken(), saved);
    for (int step = 0; step < 3; ++step) {
      set_gradients(problem);
      set_gradients(copy);
      opt->step(o.optimizer_lr);
      resumed->step(o.optimizer_lr);
    }
    for (std::size_t i = 0; i < copy.params.size(); ++i) {
      const double d = max_abs_diff(copy.params[i].tensor, problem.params[i].tensor);
      if (d != 0) {
        item.passed = false;
        item.detail = "parameter " + copy.params[i].name + " differs by " + fmt(d) + " after resuming";
        return;
      }
    }
    if (!saved.empty()) {
      bool refused = false;
      try {
        resumed->load_state(1, {});
      } catch (const Error&) {
        refused = true;
      }
      if (!refused) {
        item.passed = false;
        item.detail = "load_state accepted an empty state";
        return;
      }
    }
    item.detail = "3 steps after load_state equal 3 steps of the original";
  }));
  return report;
}

}  // namespace strata::testing
