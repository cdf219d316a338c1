#include "strata/optim.h"

#include <cmath>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/detail/tensor_impl.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "tensor_internal.h"

namespace strata {

AdamW::AdamW(std::vector<NamedParameter> params, AdamWOptions options) : params_(std::move(params)), options_(options) {
  for (const NamedParameter& p : params_) {
    if (!p.tensor.is_contiguous()) throw ValueError("AdamW: parameter '" + p.name + "' is not contiguous");
    m_.push_back(Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()));
    v_.push_back(Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()));
  }
}

void AdamW::step(double lr) {
  autograd::NoGradGuard no_grad;
  ++step_;
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
                                                     .step = step_});
    param.impl()->storage->bump_version();  // tensors saved for backward are now stale
  }
}

void AdamW::load_state(std::int64_t steps, const std::vector<Tensor>& m, const std::vector<Tensor>& v) {
  if (m.size() != params_.size() || v.size() != params_.size())
    throw ValueError("AdamW::load_state: " + std::to_string(m.size()) + " moments for " +
                     std::to_string(params_.size()) + " parameters");
  autograd::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!(m[i].shape() == m_[i].shape()) || !(v[i].shape() == v_[i].shape()))
      throw ValueError("AdamW::load_state: the moments of '" + params_[i].name + "' have shape " +
                       m[i].shape().to_string() + ", the parameter " + m_[i].shape().to_string());
    m_[i].copy_(m[i]);
    v_[i].copy_(v[i]);
  }
  step_ = steps;
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
