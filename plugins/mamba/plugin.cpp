// The mamba plugin: registers the `mamba` (Mamba-1), `mamba2` and `gated_deltanet` mixers, their config keys
// and the checks that tie them together (each a located config error).
#include <strata/plugin.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "gated_deltanet_mixer.h"
#include "hf_mapping.h"
#include "mamba2_mixer.h"
#include "mamba_mixer.h"

namespace {

using namespace strata;
using mamba_plugin::MambaConfig;
using mamba_plugin::GatedDeltaNetConfig;
using mamba_plugin::GatedDeltaNetMixer;
using mamba_plugin::Mamba2Config;
using mamba_plugin::Mamba2Mixer;
using mamba_plugin::MambaMixer;

// Keys both blocks share, and their checks (each a located config error).
void add_width_keys(ConfigSchema& s) {
  s.integer("expand", 2, "inner width d_inner = expand * d_model").range(1, 64);
  s.optional("d_inner", ConfigType::integer, "inner width E, instead of expand * d_model").at_least(1);
}

// `bias`: the parameter whose softplus the initial step range sets.
void add_step_keys(ConfigSchema& s, const std::string& bias) {
  s.number("dt_min", 0.001, "smallest initial step size (softplus(" + bias + ") is log-uniform in [dt_min, dt_max])")
      .greater_than(0.0);
  s.number("dt_max", 0.1, "largest initial step size").greater_than(0.0);
  s.number("dt_init_floor", 1e-4, "initial step sizes below this are raised to it").greater_than(0.0);
}

void add_bias_keys(ConfigSchema& s) {
  s.boolean("conv_bias", true, "bias on the convolution");
  s.boolean("proj_bias", false, "biases on in_proj and out_proj");
}

std::int64_t inner_width(const Config& config, std::int64_t d_model) {
  if (!config.has("d_inner")) return config.integer("expand") * d_model;
  if (config.has("expand")) throw config.error("d_inner", "and expand both set the inner width", "give one of them");
  return config.integer("d_inner");
}

struct StepRange {
  double min, max, floor;
};

StepRange step_range(const Config& config) {
  const StepRange r{config.number("dt_min"), config.number("dt_max"), config.number("dt_init_floor")};
  if (r.min >= r.max)
    throw config.error(config.has("dt_max") ? "dt_max" : "dt_min",
                       "leaves an empty range: dt_min = " + std::to_string(r.min) +
                           " must be below dt_max = " + std::to_string(r.max),
                       "initial step sizes are drawn log-uniformly from [dt_min, dt_max] (defaults 0.001, 0.1)");
  if (r.floor >= r.max)
    throw config.error("dt_init_floor",
                       "= " + std::to_string(r.floor) + " is not below dt_max = " + std::to_string(r.max),
                       "the floor only raises the smallest initial steps; keep it below dt_max (default 1e-4)");
  return r;
}

// A's initial range [A_init_min, A_init_max] (Mamba-2 and Gated DeltaNet: A = U(min, max)
// per head, stored as A_log), checked non-empty.
struct DecayRange {
  double min, max;
};

void add_decay_keys(ConfigSchema& s, const std::string& per, const std::string& decay) {
  s.number("A_init_min", 1.0, "A = U(A_init_min, A_init_max) per " + per + " at initialisation, stored as A_log; " + decay)
      .greater_than(0.0);
  s.number("A_init_max", 16.0, "upper end of A's initial range").greater_than(0.0);
}

DecayRange decay_range(const Config& config) {
  const DecayRange r{config.number("A_init_min"), config.number("A_init_max")};
  if (r.min >= r.max)
    throw config.error(config.has("A_init_max") ? "A_init_max" : "A_init_min",
                       "leaves an empty range for A's initialisation", "A_init_min must be below A_init_max (1, 16)");
  return r;
}

ConfigSchema mamba_schema() {
  ConfigSchema s;
  s.integer("d_state", 16, "SSM state size N per channel").range(1, 256);
  s.integer("d_conv", 4, "width of the causal depthwise convolution").range(1, 256);
  add_width_keys(s);
  s.optional("dt_rank", ConfigType::integer, "rank R of the step-size projection (default ceil(d_model / 16))")
      .at_least(1);
  add_step_keys(s, "dt_proj.bias");
  s.string("dt_init", "random", "dt_proj.weight: random = U(-s, s), constant = s, s = dt_scale / sqrt(dt_rank)")
      .one_of({"random", "constant"});
  s.number("dt_scale", 1.0, "scale s of dt_proj.weight's initialisation (times dt_rank^-0.5)").greater_than(0.0);
  add_bias_keys(s);
  s.boolean("inner_norms", false, "RMSNorms on dt, B and C after x_proj, as Jamba's Mamba layers");
  s.optional("norm_eps", ConfigType::number, "epsilon of the inner RMSNorms (default 1e-6, Jamba's rms_norm_eps)")
      .greater_than(0.0);
  s.boolean("selective", true,
            "false: dt, B and C are learned constants, not functions of the input (the non-selective SSM baseline)");
  s.boolean("dt_telemetry", false, "training steps log the mean step size softplus(dt) per token id (dt.<id>)");
  return s;
}

MambaConfig mamba_config(const Config& config, const BuildContext& ctx) {
  MambaConfig c;
  c.d_model = ctx.dims.d_model;
  c.d_state = config.integer("d_state");
  c.d_conv = config.integer("d_conv");
  c.d_inner = inner_width(config, c.d_model);
  c.dt_rank = config.has("dt_rank") ? config.integer("dt_rank") : (c.d_model + 15) / 16;
  const StepRange steps = step_range(config);
  c.dt_min = steps.min;
  c.dt_max = steps.max;
  c.dt_init_floor = steps.floor;
  c.dt_init_random = config.string("dt_init") == "random";
  c.dt_scale = config.number("dt_scale");
  c.conv_bias = config.boolean("conv_bias");
  c.proj_bias = config.boolean("proj_bias");
  c.inner_norms = config.boolean("inner_norms");
  c.selective = config.boolean("selective");
  c.dt_telemetry = config.boolean("dt_telemetry");
  if (config.has("norm_eps")) {
    if (!c.inner_norms)
      throw config.error("norm_eps", "has no effect without inner_norms = true", "remove it, or set inner_norms = true");
    c.norm_eps = config.number("norm_eps");
  }
  return c;
}

std::unique_ptr<MambaMixer> make_mamba(const Config& config, const BuildContext& ctx) {
  return std::make_unique<MambaMixer>(mamba_config(config, ctx), *ctx.gen, ctx.dtype);
}

// Per token: the four projections, the depthwise conv, and the scan's ~9 E N operations
// (exp(dt A), dt B u, the state update, C h; as mamba_ssm's flop count).
ComponentCost mamba_cost(const Config& config, const BuildContext& ctx, const CostQuery& query) {
  const MambaConfig c = mamba_config(config, ctx);
  const std::int64_t D = c.d_model, E = c.d_inner, N = c.d_state, K = c.d_conv, R = c.dt_rank;
  const std::int64_t x_proj = c.selective ? E * (R + 2 * N) : 0;  // non-selective: R + 2N constants
  const std::int64_t projection_macs = D * 2 * E + x_proj + R * E + E * D;
  ComponentCost cost;
  cost.params = projection_macs + (c.selective ? 0 : R + 2 * N) + E * K + E /* dt bias */ + E * N /* A_log */ + E /* D */ +
                (c.conv_bias ? E : 0) + (c.proj_bias ? 2 * E + D : 0) + (c.inner_norms ? R + 2 * N : 0);
  cost.active_params = cost.params;
  cost.flops_per_token = 2.0 * double(projection_macs + E * K) + 9.0 * double(E * N);
  cost.state_elements = (K - 1) * E + E * N;
  // Kept for backward per token: in_proj's output (x and z), the conv output and its SiLU,
  // x_proj's output, delta, contiguous B and C, the scan output, (the inner norms' outputs);
  // and per 64-token chunk the scan's state checkpoint, E N (kernels/cpu/selective_scan.h).
  const std::int64_t T = query.context, chunks = (T + 63) / 64;
  cost.activation_elements = T * (6 * E + R + 4 * N + (c.inner_norms ? R + 2 * N + 3 : 0)) + chunks * E * N;
  return cost;
}


ConfigSchema mamba2_schema() {
  ConfigSchema s;
  s.integer("d_state", 128, "SSM state size N per head channel").range(1, 1024);
  s.integer("head_dim", 64, "channels P per head (d_inner when that is smaller); heads H = d_inner / head_dim")
      .range(1, 4096);
  s.integer("n_groups", 1, "groups G of B and C (shared by H / G heads) and of the gated norm").range(1, 1024);
  s.integer("d_conv", 4, "width of the causal depthwise convolution over x, B and C").range(1, 256);
  add_width_keys(s);
  s.integer("chunk_size", 64, "time steps per SSD chunk: speed only, the result is the same (docs/mamba2.md)")
      .range(1, 4096);
  add_step_keys(s, "dt_bias");
  add_decay_keys(s, "head", "the decay is exp(-dt A)");
  s.number("dt_limit_min", 0.0, "dt is clamped from below to this after the softplus (0: no clamp)").at_least(0.0);
  s.optional("dt_limit_max", ConfigType::number, "dt is clamped from above to this (default: no clamp)")
      .greater_than(0.0);
  add_bias_keys(s);
  s.number("norm_eps", 1e-5, "epsilon of the gated RMSNorm").greater_than(0.0);
  s.boolean("norm_before_gate", false,
            "gated RMSNorm: normalise y, then multiply by silu(z) (false: the gate first, mamba_ssm's Mamba2 default)");
  s.boolean("d_per_channel", false,
            "the D skip per channel ([d_inner], mamba_ssm's D_has_hdim) instead of per head ([heads])");
  return s;
}

Mamba2Config mamba2_config(const Config& config, const BuildContext& ctx) {
  Mamba2Config c;
  c.d_model = ctx.dims.d_model;
  c.d_state = config.integer("d_state");
  c.head_dim = config.integer("head_dim");
  c.n_groups = config.integer("n_groups");
  c.d_conv = config.integer("d_conv");
  c.chunk_size = config.integer("chunk_size");
  c.d_inner = inner_width(config, c.d_model);
  const char* width_key = config.has("d_inner") ? "d_inner" : "expand";
  if (!config.has("head_dim")) c.head_dim = std::min(c.head_dim, c.d_inner);  // small models: one head
  if (c.d_inner % c.head_dim != 0)
    throw config.error(config.has("head_dim") ? "head_dim" : width_key,
                       "leaves d_inner = " + std::to_string(c.d_inner) + " not a multiple of head_dim = " +
                           std::to_string(c.head_dim),
                       "d_inner is heads x head_dim: choose a head_dim that divides it (default 64)");
  if (c.heads() % c.n_groups != 0)
    throw config.error("n_groups",
                       "= " + std::to_string(c.n_groups) + " does not divide the " + std::to_string(c.heads()) + " heads",
                       "each group of B and C serves the same number of heads");
  const StepRange steps = step_range(config);
  c.dt_min = steps.min;
  c.dt_max = steps.max;
  c.dt_init_floor = steps.floor;
  const DecayRange decay = decay_range(config);
  c.A_init_min = decay.min;
  c.A_init_max = decay.max;
  c.dt_limit_min = config.number("dt_limit_min");
  if (config.has("dt_limit_max")) {
    c.dt_limit_max = config.number("dt_limit_max");
    if (c.dt_limit_max <= c.dt_limit_min)
      throw config.error("dt_limit_max", "= " + std::to_string(c.dt_limit_max) + " is not above dt_limit_min = " +
                                             std::to_string(c.dt_limit_min),
                         "the step size is clamped to [dt_limit_min, dt_limit_max]");
  }
  c.conv_bias = config.boolean("conv_bias");
  c.proj_bias = config.boolean("proj_bias");
  c.norm_eps = config.number("norm_eps");
  c.d_per_channel = config.boolean("d_per_channel");
  c.norm_before_gate = config.boolean("norm_before_gate");
  return c;
}

std::unique_ptr<Mamba2Mixer> make_mamba2(const Config& config, const BuildContext& ctx) {
  return std::make_unique<Mamba2Mixer>(mamba2_config(config, ctx), *ctx.gen, ctx.dtype);
}

// Per token: in_proj, conv, out_proj, and the SSD's ~2 H P N (the state update and C S)
// plus its intra-chunk part chunk (N + P) H / 2 (state-passing and quadratic forms).
ComponentCost mamba2_cost(const Config& config, const BuildContext& ctx, const CostQuery& query) {
  const Mamba2Config c = mamba2_config(config, ctx);
  const std::int64_t D = c.d_model, E = c.d_inner, H = c.heads(), P = c.head_dim, N = c.d_state,
                     K = c.d_conv, GN = c.n_groups * c.d_state, L = c.chunk_size;
  const std::int64_t in_rows = 2 * E + 2 * GN + H;
  ComponentCost cost;
  cost.params = D * in_rows + c.conv_dim() * K + 2 * H + (c.d_per_channel ? E : H) + E + E * D +
                (c.conv_bias ? c.conv_dim() : 0) +
                (c.proj_bias ? in_rows + D : 0);
  cost.active_params = cost.params;
  cost.flops_per_token = 2.0 * double(D * in_rows + c.conv_dim() * K + E * D) + 6.0 * double(H * P * N) +
                         double(L) * double(H) * double(N + P);
  cost.state_elements = (K - 1) * c.conv_dim() + H * P * N;
  // Kept for backward per token: in_proj's output, the conv output and its SiLU, dt, the
  // SSD's output, the gated and normed activations; per chunk the state entering it.
  const std::int64_t T = query.context, chunks = (T + L - 1) / L;
  cost.activation_elements = T * (in_rows + 2 * c.conv_dim() + 2 * H + 4 * E) + chunks * H * P * N;
  return cost;
}

ConfigSchema gated_deltanet_schema() {
  ConfigSchema s;
  s.integer("key_head_dim", 128, "channels Dk of each q / k head (d_model when that is smaller)").range(1, 4096);
  s.optional("value_head_dim", ConfigType::integer, "channels Dv of each value head (default key_head_dim)")
      .range(1, 4096);
  s.optional("key_heads", ConfigType::integer, "q / k heads Hk (default d_model / key_head_dim, at least 1)")
      .range(1, 4096);
  s.optional("value_heads", ConfigType::integer,
             "value heads H, a multiple of key_heads; head h reads key head h / (H / Hk) (default 2 key_heads)")
      .range(1, 4096);
  s.integer("d_conv", 4, "width of the causal depthwise convolution over q, k and v").range(1, 256);
  s.integer("chunk_size", 32, "time steps per delta-rule chunk: speed only, the result is the same (32 is fastest on the CPU)").range(1, 4096);
  add_step_keys(s, "dt_bias");
  add_decay_keys(s, "value head", "the log decay is -A softplus(a + dt_bias)");
  s.number("norm_eps", 1e-6, "epsilon of the gated RMSNorm on the output").greater_than(0.0);
  return s;
}

GatedDeltaNetConfig gated_deltanet_config(const Config& config, const BuildContext& ctx) {
  GatedDeltaNetConfig c;
  c.d_model = ctx.dims.d_model;
  c.key_head_dim = config.integer("key_head_dim");
  if (!config.has("key_head_dim")) c.key_head_dim = std::min(c.key_head_dim, c.d_model);  // small models: one head
  c.value_head_dim = config.has("value_head_dim") ? config.integer("value_head_dim") : c.key_head_dim;
  c.key_heads = config.has("key_heads") ? config.integer("key_heads") : std::max<std::int64_t>(1, c.d_model / c.key_head_dim);
  c.value_heads = config.has("value_heads") ? config.integer("value_heads") : 2 * c.key_heads;
  if (c.value_heads % c.key_heads != 0)
    throw config.error(config.has("value_heads") ? "value_heads" : "key_heads",
                       "leaves " + std::to_string(c.value_heads) + " value heads for " + std::to_string(c.key_heads) +
                           " key heads",
                       "each key head serves the same number of value heads: value_heads must be a multiple of key_heads");
  c.d_conv = config.integer("d_conv");
  c.chunk_size = config.integer("chunk_size");
  const StepRange steps = step_range(config);
  c.dt_min = steps.min;
  c.dt_max = steps.max;
  c.dt_init_floor = steps.floor;
  const DecayRange decay = decay_range(config);
  c.A_init_min = decay.min;
  c.A_init_max = decay.max;
  c.norm_eps = config.number("norm_eps");
  return c;
}

std::unique_ptr<GatedDeltaNetMixer> make_gated_deltanet(const Config& config, const BuildContext& ctx) {
  return std::make_unique<GatedDeltaNetMixer>(gated_deltanet_config(config, ctx), *ctx.gen, ctx.dtype);
}

// Per token: the projections, conv and out_proj, and per value head the delta rule's state
// read, write and output read (~6 Dk Dv) plus its intra-chunk products chunk (2 Dk + Dv)
// (K K^T, Q K^T, the solves and P Delta, each about half a chunk x chunk product).
ComponentCost gated_deltanet_cost(const Config& config, const BuildContext& ctx, const CostQuery& query) {
  const GatedDeltaNetConfig c = gated_deltanet_config(config, ctx);
  const std::int64_t D = c.d_model, H = c.value_heads, Dk = c.key_head_dim, Dv = c.value_head_dim,
                     K = c.d_conv, L = c.chunk_size;
  const std::int64_t in_rows = 2 * c.key_dim() + 2 * c.value_dim() + 2 * H;
  ComponentCost cost;
  cost.params = D * in_rows + c.conv_dim() * K + 2 * H + Dv + c.value_dim() * D;
  cost.active_params = cost.params;
  cost.flops_per_token = 2.0 * double(D * in_rows + c.conv_dim() * K + c.value_dim() * D) +
                         6.0 * double(H * Dk * Dv) + double(L) * double(H) * double(2 * Dk + Dv);
  cost.state_elements = (K - 1) * c.conv_dim() + H * Dk * Dv;
  // Kept for backward per token: the projections' outputs, the conv output and its SiLU,
  // the normalised q and k, g and beta, the delta rule's output, the normed and gated
  // activations; per chunk the state entering it.
  const std::int64_t T = query.context, chunks = (T + L - 1) / L;
  cost.activation_elements = T * (in_rows + 3 * c.conv_dim() + 2 * c.key_dim() + 4 * H + 3 * c.value_dim()) +
                             chunks * H * Dk * Dv;
  return cost;
}

void register_components(PluginRegistrar& registrar) {
  registrar.add<MambaMixer>("mamba", "Mamba-1 selective state-space block (fused CPU scan, O(1) decoding state)",
                            mamba_schema(), &make_mamba, &mamba_cost);
  registrar.add<Mamba2Mixer>("mamba2", "Mamba-2 block: the SSD scan in chunks with a fused backward, heads with a scalar "
                             "decay, grouped B and C, the gated RMSNorm (O(1) decoding state)",
                             mamba2_schema(), &make_mamba2, &mamba2_cost);
  registrar.add<GatedDeltaNetMixer>(
      "gated_deltanet",
      "Gated DeltaNet (Qwen3-Next's linear attention): the gated delta rule in chunks (WY / UT form) with a fused "
      "backward, short convs, L2-normalised q and k, value heads sharing key heads, the gated RMSNorm (O(1) decoding "
      "state)",
      gated_deltanet_schema(), &make_gated_deltanet, &gated_deltanet_cost);
  mamba_plugin::register_hf_mappings(registrar);
}

}  // namespace

STRATA_PLUGIN("mamba", "0.1.0", register_components)
