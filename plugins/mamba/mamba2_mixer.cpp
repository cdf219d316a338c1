#include "mamba2_mixer.h"

#include <strata/autograd.h>
#include <strata/error.h>
#include <strata/ops.h>

#include <cmath>
#include <vector>

#include "mamba_init.h"
#include "mamba_state.h"

namespace strata::mamba_plugin {

namespace {

// A_log [H]: log of A drawn uniformly from [A_init_min, A_init_max] (mamba_ssm's Mamba2).
Tensor a_log_init(const Mamba2Config& c, Generator& gen, DType dtype) {
  return log(Tensor::rand({c.heads()}, gen, DType::f64, c.A_init_min, c.A_init_max)).to(dtype);
}

}  // namespace

Mamba2Mixer::Mamba2Mixer(const Mamba2Config& c, Generator& gen, DType dtype) : config_(c), dtype_(dtype) {
  const std::int64_t E = c.d_inner, H = c.heads(), GN = c.n_groups * c.d_state;
  in_proj_ = register_module("in_proj", std::make_shared<nn::Linear>(c.d_model, 2 * E + 2 * GN + H, c.proj_bias, gen, dtype));
  const auto conv =
      register_module("conv1d", std::make_shared<DepthwiseConv>(c.conv_dim(), c.d_conv, c.conv_bias, gen, dtype));
  conv_weight_ = conv->weight;
  conv_bias_ = conv->bias;
  dt_bias_ = register_parameter("dt_bias", dt_bias_init(H, c.dt_min, c.dt_max, c.dt_init_floor, gen, dtype),
                                ParamFlags::no_weight_decay);
  A_log_ = register_parameter("A_log", a_log_init(c, gen, dtype), ParamFlags::no_weight_decay);
  D_ = register_parameter("D", Tensor::ones({c.d_per_channel ? c.d_inner : H}, dtype), ParamFlags::no_weight_decay);
  norm_weight_ = register_module("norm", std::make_shared<GatedNormScale>(E, dtype))->weight;
  out_proj_ = register_module("out_proj", std::make_shared<nn::Linear>(E, c.d_model, c.proj_bias, gen, dtype));
}

Mamba2Mixer::Mixed Mamba2Mixer::mix(const Tensor& u, const Tensor& conv_state, const Tensor& ssm_state,
                                    bool with_conv_state, const Tensor& starts) const {
  const Mamba2Config& c = config_;
  const std::int64_t E = c.d_inner, H = c.heads(), P = c.head_dim, G = c.n_groups, N = c.d_state;
  const std::int64_t B = u.size(0), T = u.size(1);
  const std::vector<Tensor> parts = split(in_proj_->forward(u), {E, c.conv_dim(), H}, -1);
  const Tensor xbc = silu(causal_conv1d(parts[1], conv_weight_, conv_bias_, conv_state, starts));  // [B, T, E + 2GN]
  const std::vector<Tensor> x_b_c = split(xbc, {E, G * N, G * N}, -1);
  const Tensor x = x_b_c[0].reshape({B, T, H, P});
  SsdInputs s;
  s.x = x;
  s.dt = softplus(add(parts[2], dt_bias_));  // [B, T, H]
  // clamp(dt, lo, hi) as lo + relu(dt - lo), then hi - relu(hi - dt): the same values and
  // gradients (0 where clamped)
  if (c.dt_limit_min > 0.0) s.dt = add(relu(add(s.dt, -c.dt_limit_min)), c.dt_limit_min);
  if (std::isfinite(c.dt_limit_max)) s.dt = neg(add(relu(add(neg(s.dt), c.dt_limit_max)), -c.dt_limit_max));
  s.A = neg(exp(A_log_));
  s.B = x_b_c[1].reshape({B, T, G, N});
  s.C = x_b_c[2].reshape({B, T, G, N});
  s.initial_state = ssm_state;
  s.chunk = c.chunk_size;
  s.sequence_starts = starts;
  const SsdOutputs o = ssd(s);
  // + D x, D per head ([H, 1]) or per channel ([H, P]), broadcast over [B, T, H, P]
  const Tensor y = add(o.y, mul(x, c.d_per_channel ? D_.reshape({H, P}) : D_.reshape({H, 1})));
  // The gated RMSNorm over each of the G groups of E / G channels: the gate first (mamba_ssm's
  // default, norm_before_gate = false), or the norm first and then the gate.
  const auto group_norm = [&](const Tensor& v) {
    return rmsnorm(v.reshape({B, T, G, E / G}), Tensor(), c.norm_eps).reshape({B, T, E});
  };
  const Tensor gate = silu(parts[0]);
  const Tensor normed = c.norm_before_gate ? mul(group_norm(y.reshape({B, T, E})), gate)
                                           : group_norm(mul(y.reshape({B, T, E}), gate));
  Mixed m;
  m.out = out_proj_->forward(mul(normed, norm_weight_));
  m.ssm_state = o.final_state;
  if (with_conv_state) m.conv_state = causal_conv1d_final_state(parts[1], conv_state, c.d_conv);
  return m;
}

Tensor Mamba2Mixer::forward(const Tensor& u, StepContext& ctx) {
  return mix(u, Tensor(), Tensor(), false, ctx.sequence_starts()).out;
}

std::unique_ptr<MixerState> Mamba2Mixer::make_state(std::int64_t batch) const {
  const Mamba2Config& c = config_;
  return std::make_unique<MambaState>(Tensor::zeros({batch, c.d_conv - 1, c.conv_dim()}, dtype_, device()),
                                      Tensor::zeros({batch, c.heads(), c.head_dim, c.d_state}, dtype_, device()));
}

Tensor Mamba2Mixer::forward_step(const Tensor& u, MixerState& base, StepContext&) {
  MambaState& state = decode_state_for(base, u, "mamba2");
  Mixed m = mix(u, state.conv(), state.ssm(), true);
  state.advance(std::move(m.conv_state), std::move(m.ssm_state), u.size(1));
  return m.out;
}

}  // namespace strata::mamba_plugin
