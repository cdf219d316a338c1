#include "strata/components.h"

#include "strata/error.h"
#include "strata/ops.h"

namespace strata {

std::int64_t BuildContext::parent_integer(std::string_view name, const Config& config) const {
  if (const auto it = from_parent.find(name); it != from_parent.end()) return it->second;
  const std::string what = config.type().empty() ? "this component" : "'" + config.type() + "'";
  throw ConfigError(config.location(), config.path(),
                    what + " needs '" + std::string(name) + "' from the component that builds it, and none was given",
                    "build it inside a component that provides it (routers and balance terms: inside an moe ffn)");
}

Tensor Routing::extra(std::string_view name) const {
  const auto it = extras.find(name);
  return it == extras.end() ? Tensor() : it->second;
}

std::string StepContext::scoped(const std::string& name) const { return scope_.empty() ? name : scope_ + "." + name; }

void StepContext::add_aux_loss(const std::string& name, const Tensor& loss) {
  if (!loss.defined() || loss.rank() != 0) {
    throw ShapeError("auxiliary loss '" + scoped(name) + "' must be a rank-0 tensor");
  }
  aux_losses_.push_back({scoped(name), loss});
}

void StepContext::add_metric(const std::string& name, double value) { metrics_[scoped(name)] += value; }

void StepContext::add_metric_at(const std::string& name, std::int64_t index, double value) {
  add_metric(name + "." + std::to_string(index), value);
}

void StepContext::add_metric_at(const std::string& name, std::int64_t i, std::int64_t j, double value) {
  add_metric(name + "." + std::to_string(i) + "." + std::to_string(j), value);
}

Tensor StepContext::total_aux_loss() const {
  Tensor total;
  for (const AuxLoss& a : aux_losses_) total = total.defined() ? add(total, a.value) : a.value;
  return total;
}

void StepContext::clear() {
  aux_losses_.clear();
  metrics_.clear();
}

std::unique_ptr<MixerState> Mixer::make_state(std::int64_t) const { return nullptr; }

Tensor Mixer::forward_step(const Tensor&, MixerState&, StepContext&) {
  throw NotImplementedError("this mixer does not support recurrent decoding (forward_step)",
                            "implement make_state and forward_step to decode token by token");
}

void Router::set_selection_bias(const Tensor&) {
  throw NotImplementedError("this router does not choose experts by biased scores",
                            "use a router that supports a selection bias (softmax_topk, sigmoid_bias)");
}

}  // namespace strata
