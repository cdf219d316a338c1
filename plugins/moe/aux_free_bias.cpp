#include "aux_free_bias.h"
#include "routing.h"

#include <strata/autograd.h>
#include <strata/communicator.h>

#include <string>
#include <vector>

namespace strata::moe_plugin {

namespace {

class AuxFreeBias : public Balance {
 public:
  AuxFreeBias(std::int64_t n_experts, double rate) : rate_(rate), load_(std::size_t(n_experts), 0.0) {
    // A buffer: part of the model's state (and its checkpoints), never trained.
    bias_ = register_buffer("expert_bias", Tensor::zeros({n_experts}, DType::f64));
  }

  Tensor loss(const Routing& r, StepContext& ctx) override {
    // Only training forwards count: evaluation between steps must not move the bias.
    if (!ctx.training()) return {};
    const std::vector<std::int64_t> counts = r.counts.to_vector<std::int64_t>();
    for (std::size_t e = 0; e < counts.size(); ++e) load_[e] += double(counts[e]);
    // The step's data-parallel group: after_step sums the loads over it.
    ranks_ = ctx.data_parallel();
    const std::vector<double> b = bias_.to_vector<double>();
    for (std::size_t e = 0; e < b.size(); ++e) ctx.add_metric_at("bias", std::int64_t(e), b[e]);
    return {};
  }

  Tensor selection_bias() const override { return bias_; }

  std::vector<MetricSeries> metric_series() const override {
    return {{"bias", MetricKind::vector, {"expert"}, {}, "", MetricReduce::last,
             "the expert selection bias added to the router's scores (DeepSeek-V3) in the window's last step", false}};
  }

  void after_step() override {
    // Every rank updates from the global batch's loads, so the ranks keep one bias.
    if (ranks_ != nullptr) ranks_->all_reduce_sum(std::span<double>(load_));
    ranks_ = nullptr;
    double mean = 0;
    for (double l : load_) mean += l / double(load_.size());
    std::vector<double> b = bias_.to_vector<double>();
    for (std::size_t e = 0; e < b.size(); ++e) {
      const double gap = mean - load_[e];
      b[e] += rate_ * double((gap > 0) - (gap < 0));
      load_[e] = 0;
    }
    autograd::NoGradGuard no_grad;
    bias_.copy_(Tensor::from_vector(b, {std::int64_t(b.size())}));  // in place: the router shares it
  }

 private:
  double rate_;
  Tensor bias_;                // [E], f64, the buffer "expert_bias"
  std::vector<double> load_;   // slots per expert since the last optimizer step
  Communicator* ranks_ = nullptr;  // the data-parallel group of this step's forwards, if any
};

}  // namespace

void register_aux_free_bias(PluginRegistrar& registrar) {
  ConfigSchema s;
  s.number("rate", 1e-3, "bias update per optimizer step (DeepSeek-V3, Megatron default: 1e-3)").greater_than(0.0);
  registrar.add<Balance>("aux_free_bias",
                         "auxiliary-loss-free balancing: a selection bias updated after each step (DeepSeek-V3)", s,
                         [](const Config& c, const BuildContext& ctx) {
                           return std::make_unique<AuxFreeBias>(parent_experts(ctx, c), c.number("rate"));
                         });
}

}  // namespace strata::moe_plugin
