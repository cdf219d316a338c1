// Mixer "token_shift": each output mixes the current token with the previous one through a
// learned per-channel gate (RWKV's token shift, as a whole mixer):
//   g = sigmoid(mix)                                   mix: [D]
//   y_t = out_proj(g * in_a(x_t) + (1 - g) * in_b(x_{t-1}))   (x_{-1} = 0)
// Decoding keeps the last input token. It declares telemetry of every kind the report
// draws generically, with each window reduction:
//   gate       histogram of g over [0, .25, .5, .75, 1] (channels per bin), last
//   gate_mean  mean of g, mean, headline
//   input_rms  root mean square of the input, max
//   forwards   1 per training forward, sum (so a window logs its step count)
#include "extension.h"

#include <strata/autograd.h>

#include <cmath>
#include <strata/nn.h>
#include <strata/ops.h>

namespace strata::extension_plugin {

namespace {

class TokenShiftState : public MixerState {
 public:
  explicit TokenShiftState(Tensor last) : last_(std::move(last)) {}
  std::size_t size_bytes() const override { return last_.nbytes(); }
  std::int64_t position() const override { return position_; }
  Tensor last_;  // [B, 1, D]
  std::int64_t position_ = 0;
};

const std::vector<double> kGateEdges = {0.0, 0.25, 0.5, 0.75, 1.0};

class TokenShift : public Mixer {
 public:
  TokenShift(std::int64_t d_model, Generator& gen, DType dtype) : d_model_(d_model), dtype_(dtype) {
    in_a_ = register_module("in_a", std::make_shared<nn::Linear>(d_model, d_model, false, gen, dtype));
    in_b_ = register_module("in_b", std::make_shared<nn::Linear>(d_model, d_model, false, gen, dtype));
    mix_ = register_parameter("mix", nn::uniform_init({d_model}, 1.0, gen, dtype), ParamFlags::no_weight_decay);
    out_proj_ = register_module("out_proj", std::make_shared<nn::Linear>(d_model, d_model, false, gen, dtype));
  }

  // x: [B, T, D] -> [B, T, D]
  Tensor forward(const Tensor& x, StepContext& ctx) override {
    if (ctx.training()) report(x, ctx);
    return mix(x, Tensor::zeros({x.size(0), 1, d_model_}, dtype_, x.device()));
  }

  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override {
    return std::make_unique<TokenShiftState>(Tensor::zeros({batch, 1, d_model_}, dtype_, device()));
  }

  Tensor forward_step(const Tensor& x, MixerState& base, StepContext&) override {
    auto& state = static_cast<TokenShiftState&>(base);
    Tensor y = mix(x, state.last_);
    state.last_ = slice(x, 1, x.size(1) - 1, x.size(1)).contiguous().detach();
    state.position_ += x.size(1);
    return y;
  }

  std::vector<MetricSeries> metric_series() const override {
    return {{"gate", MetricKind::histogram, {"value"}, kGateEdges, "channels", MetricReduce::last,
             "channels whose gate sigmoid(mix) falls in each bin", false},
            {"gate_mean", MetricKind::scalar, {}, {}, "", MetricReduce::mean, "mean gate over the channels", true},
            {"input_rms", MetricKind::scalar, {}, {}, "", MetricReduce::max, "root mean square of the mixer's input", false},
            {"forwards", MetricKind::scalar, {}, {}, "calls", MetricReduce::sum, "training forwards (1 per step)", false}};
  }

 private:
  // x: [B, T, D], previous: [B, 1, D] (the token before x's first) -> [B, T, D]
  Tensor mix(const Tensor& x, const Tensor& previous) const {
    const std::int64_t T = x.size(1);
    const Tensor shifted = slice(concat({previous, x}, 1), 1, 0, T);  // x_{t-1}
    const Tensor g = sigmoid(mix_);                                    // [D]
    const Tensor mixed = add(mul(in_a_->forward(x), g), mul(in_b_->forward(shifted), sub(Tensor::ones({d_model_}, dtype_), g)));
    return out_proj_->forward(mixed);
  }

  void report(const Tensor& x, StepContext& ctx) const {
    autograd::NoGradGuard no_grad;
    const std::vector<double> g = sigmoid(mix_).to_vector<double>();
    std::vector<double> bins(kGateEdges.size() - 1, 0.0);
    double total = 0;
    for (double v : g) {
      total += v;
      std::size_t b = 0;
      while (b + 1 < bins.size() && v >= kGateEdges[b + 1]) ++b;
      bins[b] += 1;
    }
    for (std::size_t b = 0; b < bins.size(); ++b) ctx.add_metric_at("gate", std::int64_t(b), bins[b]);
    ctx.add_metric("gate_mean", total / double(g.size()));
    ctx.add_metric("input_rms", std::sqrt(mean(square(x.detach())).item()));
    ctx.add_metric("forwards", 1.0);
  }

  std::int64_t d_model_;
  DType dtype_;
  std::shared_ptr<nn::Linear> in_a_, in_b_, out_proj_;
  Tensor mix_;  // [D]
};

}  // namespace

void register_token_shift(PluginRegistrar& registrar) {
  registrar.add<Mixer>("token_shift", "x_t and x_{t-1} mixed by a learned gate (test extension plugin)", ConfigSchema{},
                       [](const Config&, const BuildContext& ctx) {
                         return std::make_unique<TokenShift>(ctx.dims.d_model, *ctx.gen, ctx.dtype);
                       });
}

}  // namespace strata::extension_plugin
