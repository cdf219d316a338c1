// The Optimizer base: parameters, the step counter, and state restored by name.
#include "strata/autograd.h"
#include "strata/components.h"
#include "strata/detail/tensor_impl.h"
#include "strata/error.h"

namespace strata {

void Optimizer::set_parameters(std::vector<NamedParameter> params) {
  if (!params_.empty()) throw ValueError("Optimizer::set_parameters: the parameters are already set");
  params_ = std::move(params);
  init_state();
}

void Optimizer::step(double lr) {
  autograd::NoGradGuard no_grad;
  ++steps_;
  update(lr, steps_);
  for (const NamedParameter& p : params_)
    if (p.tensor.grad().defined()) p.tensor.impl()->storage->bump_version();  // saved tensors are now stale
}

void Optimizer::load_state(std::int64_t steps, const std::map<std::string, Tensor, std::less<>>& saved) {
  if (steps < 0) throw ValueError("Optimizer::load_state: negative step count " + std::to_string(steps));
  autograd::NoGradGuard no_grad;
  const std::vector<std::pair<std::string, Tensor>> mine = state();
  // Check every tensor before copying any, so that a mismatch leaves the state untouched.
  for (const auto& [name, tensor] : mine) {
    const auto it = saved.find(name);
    if (it == saved.end())
      throw ValueError("the saved optimizer state has no '" + name + "'",
                       "resume with the optimizer and model the checkpoint was written with");
    if (!(it->second.shape() == tensor.shape()))
      throw ValueError("the saved optimizer state '" + name + "' has shape " + it->second.shape().to_string() +
                       ", this optimizer's " + tensor.shape().to_string());
  }
  for (const auto& [name, tensor] : mine) {
    Tensor target = tensor;
    target.copy_(saved.find(name)->second);
  }
  steps_ = steps;
}

}  // namespace strata
