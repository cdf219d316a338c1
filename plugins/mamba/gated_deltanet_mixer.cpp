#include "gated_deltanet_mixer.h"

#include <strata/autograd.h>
#include <strata/error.h>
#include <strata/ops.h>

#include <cmath>
#include <vector>

#include "mamba_init.h"
#include "mamba_state.h"

namespace strata::mamba_plugin {

namespace {

// transformers' l2norm, x / sqrt(sum x^2 + 1e-6) over the last axis (size n), as the
// RMSNorm x / sqrt(mean x^2 + 1e-6 / n) divided by sqrt(n); times sqrt(n) when
// `times_sqrt_n` (q, whose 1 / sqrt(Dk) the delta rule's scale then absorbs).
Tensor l2_normalize(const Tensor& x, std::int64_t n, bool times_sqrt_n) {
  const Tensor normed = rmsnorm(x, Tensor(), 1e-6 / double(n));
  return times_sqrt_n ? normed : mul(normed, 1.0 / std::sqrt(double(n)));
}

}  // namespace

GatedDeltaNetMixer::GatedDeltaNetMixer(const GatedDeltaNetConfig& c, Generator& gen, DType dtype)
    : config_(c), dtype_(dtype) {
  const std::int64_t H = c.value_heads;
  in_proj_qkvz_ = register_module(
      "in_proj_qkvz", std::make_shared<nn::Linear>(c.d_model, 2 * c.key_dim() + 2 * c.value_dim(), false, gen, dtype));
  in_proj_ba_ = register_module("in_proj_ba", std::make_shared<nn::Linear>(c.d_model, 2 * H, false, gen, dtype));
  conv_weight_ =
      register_module("conv1d", std::make_shared<DepthwiseConv>(c.conv_dim(), c.d_conv, false, gen, dtype))->weight;
  dt_bias_ = register_parameter("dt_bias", dt_bias_init(H, c.dt_min, c.dt_max, c.dt_init_floor, gen, dtype),
                                ParamFlags::no_weight_decay);
  A_log_ = register_parameter("A_log", log(Tensor::rand({H}, gen, DType::f64, c.A_init_min, c.A_init_max)).to(dtype),
                              ParamFlags::no_weight_decay);
  norm_weight_ = register_module("norm", std::make_shared<GatedNormScale>(c.value_head_dim, dtype))->weight;
  out_proj_ = register_module("out_proj", std::make_shared<nn::Linear>(c.value_dim(), c.d_model, false, gen, dtype));
}

GatedDeltaNetMixer::Mixed GatedDeltaNetMixer::mix(const Tensor& u, const Tensor& conv_state, const Tensor& state,
                                                  bool with_conv_state, const Tensor& starts) const {
  const GatedDeltaNetConfig& c = config_;
  const std::int64_t Hk = c.key_heads, H = c.value_heads, Dk = c.key_head_dim, Dv = c.value_head_dim,
                     r = c.heads_per_key();
  const std::int64_t B = u.size(0), T = u.size(1);
  // The projections hold each key head's q, k, v, z (and b, a) together (transformers'
  // fix_query_key_value_ordering): split within the key head, then flatten.
  const std::vector<Tensor> qkvz = split(in_proj_qkvz_->forward(u).reshape({B, T, Hk, 2 * Dk + 2 * r * Dv}),
                                         {Dk, Dk, r * Dv, r * Dv}, -1);
  const std::vector<Tensor> ba = split(in_proj_ba_->forward(u).reshape({B, T, Hk, 2 * r}), {r, r}, -1);
  const Tensor mixed = concat({qkvz[0].reshape({B, T, Hk * Dk}), qkvz[1].reshape({B, T, Hk * Dk}),
                               qkvz[2].reshape({B, T, H * Dv})},
                              -1);  // [B, T, conv_dim]
  const std::vector<Tensor> conv = split(silu(causal_conv1d(mixed, conv_weight_, Tensor(), conv_state, starts)),
                                         {Hk * Dk, Hk * Dk, H * Dv}, -1);
  GatedDeltaRuleInputs in;
  in.q = l2_normalize(conv[0].reshape({B, T, Hk, Dk}), Dk, true);
  in.k = l2_normalize(conv[1].reshape({B, T, Hk, Dk}), Dk, false);
  in.v = conv[2].reshape({B, T, H, Dv});
  in.beta = sigmoid(ba[0].reshape({B, T, H}));
  in.g = mul(softplus(add(ba[1].reshape({B, T, H}), dt_bias_)), neg(exp(A_log_)));
  in.scale = 1.0 / double(Dk);  // q above is sqrt(Dk) times the unit vector
  in.initial_state = state;
  in.chunk = c.chunk_size;
  in.sequence_starts = starts;
  const GatedDeltaRuleOutputs o = gated_delta_rule(in);
  // the gated RMSNorm per value head: normalise, scale, then gate
  const Tensor gated = mul(rmsnorm(o.o, norm_weight_, c.norm_eps), silu(qkvz[3].reshape({B, T, H, Dv})));
  Mixed m;
  m.out = out_proj_->forward(gated.reshape({B, T, H * Dv}));
  m.state = o.final_state;
  if (with_conv_state) m.conv_state = causal_conv1d_final_state(mixed, conv_state, c.d_conv);
  return m;
}

Tensor GatedDeltaNetMixer::forward(const Tensor& u, StepContext& ctx) {
  return mix(u, Tensor(), Tensor(), false, ctx.sequence_starts()).out;
}

std::unique_ptr<MixerState> GatedDeltaNetMixer::make_state(std::int64_t batch) const {
  const GatedDeltaNetConfig& c = config_;
  return std::make_unique<MambaState>(
      Tensor::zeros({batch, c.d_conv - 1, c.conv_dim()}, dtype_, device()),
      Tensor::zeros({batch, c.value_heads, c.key_head_dim, c.value_head_dim}, dtype_, device()));
}

Tensor GatedDeltaNetMixer::forward_step(const Tensor& u, MixerState& base, StepContext&) {
  MambaState& state = decode_state_for(base, u, "gated_deltanet");
  Mixed m = mix(u, state.conv(), state.ssm(), true);
  state.advance(std::move(m.conv_state), std::move(m.state), u.size(1));
  return m.out;
}

}  // namespace strata::mamba_plugin
