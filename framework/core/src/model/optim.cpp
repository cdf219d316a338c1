#include "strata/optim.h"

#include <cmath>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/detail/tensor_impl.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "tensor_internal.h"

namespace strata {

AdamW::AdamW(std::vector<NamedParameter> params, AdamWOptions options) : options_(options) {
  set_parameters(std::move(params));
}

void AdamW::init_state() {
  for (const NamedParameter& p : params()) {
    if (!p.tensor.is_contiguous()) throw ValueError("AdamW: parameter '" + p.name + "' is not contiguous");
    m_.push_back(Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()));
    v_.push_back(Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()));
  }
}

std::vector<std::pair<std::string, Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (std::size_t i = 0; i < params().size(); ++i) {
    out.emplace_back("m." + params()[i].name, m_[i]);
    out.emplace_back("v." + params()[i].name, v_[i]);
  }
  return out;
}

void AdamW::update(double lr, std::int64_t step) {
  const std::vector<NamedParameter>& params_ = params();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor param = params_[i].tensor;
    const Tensor grad = param.grad();
    if (!grad.defined()) continue;
    const Tensor g = grad.contiguous();
    core_kernels::table().adamw.run(param.device(), {.param = &param,
                                                     .grad = &g,
                                                     .m = &m_[i],
                                                     .v = &v_[i],
                                                     .lr = lr,
                                                     .beta1 = options_.beta1,
                                                     .beta2 = options_.beta2,
                                                     .eps = options_.eps,
                                                     .weight_decay = params_[i].weight_decay ? options_.weight_decay : 0.0,
                                                     .step = step});
  }
}

ConfigSchema adamw_schema() {
  ConfigSchema s;
  s.number("weight_decay", 0.01, "decoupled decay (not applied to norms, biases, marked params)").range(0, 10);
  s.number("beta1", 0.9, "first-moment decay").range(0, 0.999999);
  s.number("beta2", 0.999, "second-moment decay").range(0, 0.99999999);
  s.number("eps", 1e-8, "added to the root of the second moment").greater_than(0);
  return s;
}

AdamWOptions adamw_options(const Config& c) {
  AdamWOptions o;
  o.beta1 = c.number("beta1");
  o.beta2 = c.number("beta2");
  o.eps = c.number("eps");
  o.weight_decay = c.number("weight_decay");
  return o;
}

LrDecay parse_lr_decay(const std::string& name) {
  if (name == "cosine") return LrDecay::cosine;
  if (name == "linear") return LrDecay::linear;
  if (name == "constant") return LrDecay::constant;
  throw ValueError("unknown learning-rate schedule '" + name + "'", "use cosine, linear or constant");
}

double LrSchedule::at(std::int64_t step) const {
  if (step < warmup_steps) return peak * double(step + 1) / double(warmup_steps);
  if (decay == LrDecay::constant) return peak;
  // The last step (total_steps - 1) runs at exactly peak * min_ratio.
  const std::int64_t span = std::max<std::int64_t>(1, total_steps - 1 - warmup_steps);
  const double progress = std::min(1.0, double(step - warmup_steps) / double(span));
  const double floor = peak * min_ratio;
  if (decay == LrDecay::linear) return peak - (peak - floor) * progress;
  return floor + 0.5 * (peak - floor) * (1.0 + std::cos(M_PI * progress));
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  autograd::NoGradGuard no_grad;
  double total = 0;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (g.defined()) total += sum(square(g)).item();  // sum() combines its blocks in f64
  }
  const double norm = std::sqrt(total);
  if (max_norm > 0 && norm > max_norm && std::isfinite(norm)) {
    const double factor = max_norm / (norm + 1e-6);
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.mul_(factor);
    }
  }
  return norm;
}

}  // namespace strata
