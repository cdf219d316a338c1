// The example plugin: a gated causal short-convolution mixer ("shortconv"), built only
// from existing differentiable ops, so its backward comes for free. It is the template
// for new plugins: copy this folder, rename, and follow docs/writing-a-plugin.md.
//
//   x, gate = split(in_proj(u))          u: [B, T, D] -> x, gate: [B, T, E], E = expand * D
//   c_t = bias + sum_j w[:, j] * x_{t - (K-1) + j}   causal depthwise conv of width K
//   y = out_proj(c * silu(gate))         (or out_proj(c) with gate = false)
//
// Output t sees inputs t-K+1 .. t of this layer, so a stack of L layers reaches back
// L * (K - 1) tokens. Decoding keeps the last K-1 rows of x per sequence as its state.
#include <strata/nn.h>
#include <strata/ops.h>
#include <strata/packing.h>
#include <strata/plugin.h>

#include <cmath>

#include "gated_conv.h"

namespace {

using namespace strata;

// The recurrent state: the last K-1 projected inputs of each sequence.
class ShortConvState : public MixerState {
 public:
  ShortConvState(Tensor history) : history_(std::move(history)) {}
  std::size_t size_bytes() const override { return history_.nbytes(); }
  std::int64_t position() const override { return position_; }

  Tensor history_;  // [B, K-1, E]
  std::int64_t position_ = 0;
};

class ShortConv : public Mixer {
 public:
  ShortConv(std::int64_t d_model, std::int64_t expand, std::int64_t kernel_size, bool gate, bool bias, bool fused,
            Generator& gen, DType dtype)
      : inner_(expand * d_model), kernel_size_(kernel_size), gate_(gate), fused_(fused), dtype_(dtype) {
    in_proj_ =
        register_module("in_proj", std::make_shared<nn::Linear>(d_model, gate ? 2 * inner_ : inner_, bias, gen, dtype));
    // PyTorch's Conv1d default for a depthwise kernel: fan_in = K.
    const double bound = 1.0 / std::sqrt(double(kernel_size));
    conv_weight_ = register_parameter("conv_weight", nn::uniform_init({inner_, kernel_size}, bound, gen, dtype));
    conv_bias_ =
        register_parameter("conv_bias", nn::uniform_init({inner_}, bound, gen, dtype), ParamFlags::no_weight_decay);
    out_proj_ = register_module("out_proj", std::make_shared<nn::Linear>(inner_, d_model, bias, gen, dtype));
  }

  // u: [B, T, D] -> [B, T, D]: the sequence continues from an all-zero history. With packed
  // documents (ctx.sequence_starts()) no tap reads across a document start.
  Tensor forward(const Tensor& u, StepContext& ctx) override {
    return mix(u, Tensor::zeros({u.size(0), kernel_size_ - 1, inner_}, dtype_, u.device()), ctx.sequence_starts()).first;
  }
  bool supports_packed_sequences() const override { return true; }

  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override {
    return std::make_unique<ShortConvState>(Tensor::zeros({batch, kernel_size_ - 1, inner_}, dtype_, device()));
  }

  // u: [B, T', D], the next T' tokens -> [B, T', D]; the state keeps the last K-1 inputs.
  Tensor forward_step(const Tensor& u, MixerState& base, StepContext&) override {
    auto& state = static_cast<ShortConvState&>(base);
    auto [y, history] = mix(u, state.history_);
    state.history_ = history;
    state.position_ += u.size(1);
    return y;
  }

 private:
  // u: [B, T, D], history: [B, K-1, E] -> (y: [B, T, D], new history: [B, K-1, E]);
  // starts: packed documents' sequence starts [B, T], or undefined.
  std::pair<Tensor, Tensor> mix(const Tensor& u, const Tensor& history, const Tensor& starts = Tensor()) const {
    const std::int64_t T = u.size(1), K = kernel_size_;
    Tensor projected = in_proj_->forward(u);  // [B, T, E] or [B, T, 2E]
    Tensor x = projected, gate;
    if (gate_) {
      std::vector<Tensor> halves = chunk(projected, 2, -1);
      x = halves[0];
      gate = halves[1];
    }
    const Tensor padded = concat({history, x}, 1);  // [B, K-1+T, E]
    Tensor new_history = slice(padded, 1, T, T + K - 1).contiguous().detach();  // the last K-1 rows
    if (fused_ && !starts.defined())  // the plugin's own fused kernel (gated_conv.h)
      return {out_proj_->forward(example_plugin::gated_short_conv(padded, conv_weight_, conv_bias_, gate)), new_history};
    // Packed documents: tap j is kept where the token is at least K-1-j into its document.
    const std::vector<std::int64_t> position =
        starts.defined() ? positions_in_sequence(starts).to_vector<std::int64_t>() : std::vector<std::int64_t>{};
    // Tap j multiplies the input K-1-j steps back: rows j .. j+T-1 of the padded sequence.
    Tensor c = conv_bias_;  // [E], broadcasts
    for (std::int64_t j = 0; j < K; ++j) {
      const Tensor tap = reshape(slice(conv_weight_, 1, j, j + 1), {inner_});  // [E]
      Tensor term = mul(slice(padded, 1, j, j + T), tap);                      // [B, T, E]
      if (!position.empty() && j < K - 1) term = mul(term, within_document(position, u.size(0), T, K - 1 - j));
      c = add(c, term);
    }
    if (gate_) c = mul(c, silu(gate));
    return {out_proj_->forward(c), new_history};
  }

  // position: the B x T tokens' positions in their documents -> [B, T, 1] of 1 where
  // position >= back (the input `back` steps earlier is in the same document), else 0.
  Tensor within_document(const std::vector<std::int64_t>& position, std::int64_t B, std::int64_t T,
                         std::int64_t back) const {
    std::vector<double> keep;
    for (const std::int64_t p : position) keep.push_back(p >= back ? 1.0 : 0.0);
    return Tensor::from_vector(keep, {B, T, 1}).to(dtype_).to(device());
  }

  std::int64_t inner_;
  std::int64_t kernel_size_;
  bool gate_;
  bool fused_;
  DType dtype_;
  std::shared_ptr<nn::Linear> in_proj_;
  std::shared_ptr<nn::Linear> out_proj_;
  Tensor conv_weight_;  // [E, K]
  Tensor conv_bias_;    // [E]
};

// The keys a user can write under [model.mixer.NAME] with type = "shortconv". `strata
// plugins` prints them, and the validator enforces types and ranges before the factory
// runs, with file:line:col errors.
ConfigSchema shortconv_schema() {
  ConfigSchema s;
  s.integer("kernel_size", 4, "width K of the causal convolution (output t sees inputs t-K+1..t)").range(1, 256);
  s.integer("expand", 1, "inner width E = expand * d_model").range(1, 16);
  s.boolean("gate", true, "multiply by silu(gate), a second half of the input projection");
  s.boolean("bias", false, "biases on the input and output projections");
  s.boolean("fused", true, "convolution and gate in the plugin's fused kernel (false: composed from core ops)");
  return s;
}

std::unique_ptr<ShortConv> make_shortconv(const Config& config, const BuildContext& ctx) {
  // A check the schema cannot express: it needs the task's sequence length.
  if (ctx.dims.max_seq_len > 0 && config.integer("kernel_size") > ctx.dims.max_seq_len) {
    throw config.error("kernel_size",
                       "is longer than the longest sequence (" + std::to_string(ctx.dims.max_seq_len) + " tokens)",
                       "use kernel_size <= the task's sequence length");
  }
  return std::make_unique<ShortConv>(ctx.dims.d_model, config.integer("expand"), config.integer("kernel_size"),
                                     config.boolean("gate"), config.boolean("bias"), config.boolean("fused"), *ctx.gen,
                                     ctx.dtype);
}

// The analytic cost (optional): lets `strata inspect` plan a model without building it.
// A test compares it with the built mixer (tests/plugins).
ComponentCost shortconv_cost(const Config& config, const BuildContext& ctx, const CostQuery& query) {
  const std::int64_t D = ctx.dims.d_model, E = config.integer("expand") * D, K = config.integer("kernel_size");
  const std::int64_t in_width = config.boolean("gate") ? 2 * E : E;
  const std::int64_t macs = D * in_width + E * K + E * D;
  ComponentCost cost;
  cost.params = macs + E + (config.boolean("bias") ? in_width + D : 0);
  cost.active_params = cost.params;
  cost.flops_per_token = 2.0 * double(macs);
  cost.state_elements = (K - 1) * E;
  // Kept for backward per token (fused path): the projection, the padded input and the
  // conv output. The composed path keeps every tap's product: left undeclared.
  if (config.boolean("fused")) cost.activation_elements = query.context * (in_width + 2 * E);
  return cost;
}

void register_components(PluginRegistrar& registrar) {
  registrar.add<ShortConv>("shortconv", "gated causal short convolution (example plugin)", shortconv_schema(),
                           &make_shortconv, &shortconv_cost);
  example_plugin::register_gated_conv_kernels(registrar);
}

}  // namespace

STRATA_PLUGIN("example", "0.1.0", register_components)
