// Mamba as Hugging Face writes it (MambaForCausalLM: backbone.layers.N.mixer, keys
// state_size, conv_kernel, ...), and the mamba mixer inside Jamba (model.layers.N.mamba,
// keys mamba_d_state, ..., with RMSNorms on dt, B and C). The mixer's parameters carry
// transformers' names (in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj,
// dt_layernorm, b_layernorm, c_layernorm); only conv1d.weight differs in shape:
// strata [E, K], Hugging Face [E, 1, K]. And Mamba2ForCausalLM (backbone.layers.N.mixer)
// for the mamba2 mixer, and BambaForCausalLM (model.layers.N.mamba, keys mamba_n_heads, ...).
#include "hf_mapping.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace strata::mamba_plugin {

namespace {

constexpr const char* kMamba = "MambaForCausalLM";
constexpr const char* kMamba2 = "Mamba2ForCausalLM";
constexpr const char* kJamba = "JambaForCausalLM";
constexpr const char* kBamba = "BambaForCausalLM";
constexpr const char* kGranite = "GraniteMoeHybridForCausalLM";
constexpr const char* kQwen3Next = "Qwen3NextForCausalLM";

// The config.json names of the mixer's settings in each architecture.
struct Dialect {
  const char* architecture;
  const char* d_state;
  const char* d_conv;
  const char* expand;
  const char* dt_rank;
  const char* conv_bias;
  const char* proj_bias;
  bool inner_norms;  // Jamba's RMSNorms on dt, B and C (epsilon: the model's rms_norm_eps)
};

constexpr Dialect kMambaKeys{kMamba, "state_size", "conv_kernel", "expand", "time_step_rank",
                             "use_conv_bias", "use_bias", false};
constexpr Dialect kJambaKeys{kJamba, "mamba_d_state", "mamba_d_conv", "mamba_expand", "mamba_dt_rank",
                             "mamba_conv_bias", "mamba_proj_bias", true};

// As transformers: the rank of dt's projection is an integer or "auto" (ceil(hidden_size / 16)).
std::int64_t dt_rank(const hf::ConfigView& c, const char* key) {
  const std::int64_t automatic = (c.integer("hidden_size") + 15) / 16;
  if (c.is_string(key)) {
    c.require(c.string(key) == "auto", key, "must be an integer or \"auto\"");
    return automatic;
  }
  return c.integer_or(key, automatic);
}

hf::ComponentMapping mamba_mapping(const Dialect& d) {
  hf::ComponentMapping m;
  m.kind = ComponentKind::mixer;
  m.type = "mamba";
  m.architectures = {d.architecture};
  m.import_config = [d](const hf::ConfigView& c, hf::TomlWriter& out) {
    const std::int64_t expand = c.integer_or(d.expand, 2);
    if (!d.inner_norms) {
      c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\"");
      if (c.present("intermediate_size"))
        c.require(c.integer("intermediate_size") == expand * c.integer("hidden_size"), "intermediate_size",
                  "must equal expand * hidden_size");
    }
    out.set("d_state", c.integer_or(d.d_state, 16));
    out.set("d_conv", c.integer_or(d.d_conv, 4));
    out.set("expand", expand);
    out.set("dt_rank", dt_rank(c, d.dt_rank));
    out.set("conv_bias", c.boolean_or(d.conv_bias, true));
    out.set("proj_bias", c.boolean_or(d.proj_bias, false));
    if (d.inner_norms) {
      out.set("inner_norms", true);
      out.set("norm_eps", c.number_or("rms_norm_eps", 1e-6));
    }
    for (const char* key : {"time_step_floor", "time_step_init_scheme", "time_step_max", "time_step_min",
                            "time_step_scale", "rescale_prenorm_residual"})
      c.irrelevant(key, "initialisation only: the weights are loaded");
    for (const char* key : {"use_mambapy", "use_associative_scan", "use_mamba_kernels"})
      c.irrelevant(key, "which kernel transformers runs for the same selective scan");
    c.irrelevant("residual_in_fp32", "keeps the residual stream in f32, as strata does at every precision");
  };
  m.export_config = [d](const Config& mamba, const Config& model, hf::ConfigWriter& out) {
    const std::int64_t D = model.integer("d_model");
    const std::int64_t inner = mamba.has("d_inner") ? mamba.integer("d_inner") : mamba.integer("expand") * D;
    if (inner % D != 0) hf::not_exportable("mamba d_inner must be a multiple of d_model (Hugging Face has expand only)");
    if (!mamba.boolean("selective")) hf::not_exportable("mamba with selective = false");
    if (mamba.boolean("inner_norms") != d.inner_norms)
      hf::not_exportable(d.inner_norms ? "Jamba's Mamba layers need inner_norms = true"
                                       : "MambaForCausalLM has no inner norms (inner_norms = true)");
    if (d.inner_norms) {
      const double eps = mamba.has("norm_eps") ? mamba.number("norm_eps") : 1e-6;
      if (eps != model.number("norm_eps"))
        hf::not_exportable("the mamba inner norms' norm_eps must equal [model] norm_eps (one rms_norm_eps)");
    } else {
      out.set("intermediate_size", inner);
      out.set("hidden_act", "silu");
    }
    out.set(d.d_state, mamba.integer("d_state"));
    out.set(d.d_conv, mamba.integer("d_conv"));
    out.set(d.expand, inner / D);
    out.set(d.dt_rank, mamba.has("dt_rank") ? mamba.integer("dt_rank") : (D + 15) / 16);
    out.set(d.conv_bias, mamba.boolean("conv_bias"));
    out.set(d.proj_bias, mamba.boolean("proj_bias"));
  };
  m.tensors = {{"conv1d.weight", {"conv1d.weight"}, 1}};
  return m;
}

// The config.json names and defaults of the Mamba-2 mixer's settings in each architecture.
struct Mamba2Dialect {
  const char* architecture;
  const char* d_state;
  std::int64_t d_state_default;
  const char* head_dim;  // Bamba's may be "auto": expand * hidden_size / num_heads
  std::int64_t head_dim_default;
  const char* num_heads;
  const char* n_groups;
  std::int64_t n_groups_default;
  const char* d_conv;
  const char* expand;
  const char* conv_bias;
  const char* proj_bias;
  const char* chunk_size;
  const char* norm_eps;  // one epsilon for the block norms and the gated norm
  double norm_eps_default;
};

constexpr Mamba2Dialect kMamba2Keys{kMamba2, "state_size", 128, "head_dim", 64, "num_heads", "n_groups", 8,
                                    "conv_kernel", "expand", "use_conv_bias", "use_bias", "chunk_size",
                                    "layer_norm_epsilon", 1e-5};
constexpr Mamba2Dialect kGraniteKeys{kGranite, "mamba_d_state", 256, "mamba_d_head", 64, "mamba_n_heads", "mamba_n_groups", 1,
                                     "mamba_d_conv", "mamba_expand", "mamba_conv_bias", "mamba_proj_bias",
                                     "mamba_chunk_size", "rms_norm_eps", 1e-6};
constexpr Mamba2Dialect kBambaKeys{kBamba, "mamba_d_state", 256, "mamba_d_head", 64, "mamba_n_heads", "mamba_n_groups", 1,
                                   "mamba_d_conv", "mamba_expand", "mamba_conv_bias", "mamba_proj_bias",
                                   "mamba_chunk_size", "rms_norm_eps", 1e-5};

// Mamba2ForCausalLM's and Bamba's mixer (transformers' Mamba2Mixer, BambaMixer): the same
// parameter names as strata's mamba2, conv1d.weight [C, 1, K] on disk.
hf::ComponentMapping mamba2_mapping(const Mamba2Dialect& d) {
  hf::ComponentMapping m;
  m.kind = ComponentKind::mixer;
  m.type = "mamba2";
  m.architectures = {d.architecture};
  m.import_config = [d](const hf::ConfigView& c, hf::TomlWriter& out) {
    const std::int64_t hidden = c.integer("hidden_size"), expand = c.integer_or(d.expand, 2);
    const std::int64_t heads = c.integer_or(d.num_heads, 128);
    std::int64_t head_dim = d.head_dim_default;
    if (c.is_string(d.head_dim)) {
      c.require(c.string(d.head_dim) == "auto", d.head_dim, "must be an integer or \"auto\"");
      head_dim = expand * hidden / heads;
    } else {
      head_dim = c.integer_or(d.head_dim, head_dim);
    }
    c.require(heads * head_dim == expand * hidden, d.num_heads,
              std::string("times ") + d.head_dim + " must equal " + d.expand + " * hidden_size (the SSM's width)");
    c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\"");
    // transformers 4's Mamba2 only: false would drop the gated norm, which strata's mamba2 always has
    c.require(c.boolean_or("rms_norm", true), "rms_norm", "must be true: strata's mamba2 has the gated RMSNorm");
    if (c.present("time_step_limit")) {
      const std::vector<double> limit = c.numbers("time_step_limit");
      c.require(limit.size() == 2 && limit[0] >= 0.0 && limit[1] > limit[0], "time_step_limit",
                "must be [low, high] with 0 <= low < high");
      if (limit[0] > 0.0) out.set("dt_limit_min", limit[0]);
      if (!std::isinf(limit[1])) out.set("dt_limit_max", limit[1]);
    }
    out.set("d_state", c.integer_or(d.d_state, d.d_state_default));
    out.set("head_dim", head_dim);
    out.set("n_groups", c.integer_or(d.n_groups, d.n_groups_default));
    out.set("d_conv", c.integer_or(d.d_conv, 4));
    out.set("expand", expand);
    out.set("conv_bias", c.boolean_or(d.conv_bias, true));
    out.set("proj_bias", c.boolean_or(d.proj_bias, false));
    out.set("norm_eps", c.number_or(d.norm_eps, d.norm_eps_default));
    c.irrelevant(d.chunk_size, "how transformers splits the scan into chunks: the same result (strata's own chunk_size "
                               "is a speed setting)");
    for (const char* key : {"time_step_floor", "time_step_max", "time_step_min", "rescale_prenorm_residual"})
      c.irrelevant(key, "initialisation only: the weights are loaded");
    c.irrelevant("time_step_rank", "a Mamba-1 setting Mamba2Config keeps; Mamba-2 has one step per head");
    c.irrelevant("residual_in_fp32", "keeps the residual stream in f32, as strata does at every precision");
  };
  m.export_config = [d](const Config& mixer, const Config& model, hf::ConfigWriter& out) {
    const std::int64_t D = model.integer("d_model");
    const std::int64_t inner = mixer.has("d_inner") ? mixer.integer("d_inner") : mixer.integer("expand") * D;
    if (inner % D != 0) hf::not_exportable("mamba2 d_inner must be a multiple of d_model (Hugging Face has expand only)");
    const std::int64_t head_dim = mixer.has("head_dim") ? mixer.integer("head_dim") : std::min<std::int64_t>(64, inner);
    if (mixer.boolean("norm_before_gate"))
      hf::not_exportable("norm_before_gate = true: transformers' gated norm multiplies by the gate first");
    if (mixer.boolean("d_per_channel"))
      hf::not_exportable("D per channel (d_per_channel): transformers' Mamba-2 mixers have one D per head");
    if (mixer.number("norm_eps") != model.number("norm_eps"))
      hf::not_exportable(std::string("the mamba2 gated norm's norm_eps must equal [model] norm_eps (one ") + d.norm_eps +
                         ")");
    out.set(d.d_state, mixer.integer("d_state"));
    out.set(d.head_dim, head_dim);
    out.set(d.num_heads, inner / head_dim);
    out.set(d.n_groups, mixer.integer("n_groups"));
    out.set(d.d_conv, mixer.integer("d_conv"));
    out.set(d.expand, inner / D);
    out.set(d.conv_bias, mixer.boolean("conv_bias"));
    out.set(d.proj_bias, mixer.boolean("proj_bias"));
    out.set("hidden_act", "silu");
    // JSON has no infinity: an open upper end is written as the largest float, the same clamp
    if (mixer.number("dt_limit_min") > 0.0 || mixer.has("dt_limit_max"))
      out.set_numbers("time_step_limit", {mixer.number("dt_limit_min"),
                                          mixer.has("dt_limit_max") ? mixer.number("dt_limit_max") : 3.4028234663852886e38});
  };
  m.tensors = {{"conv1d.weight", {"conv1d.weight"}, 1}};
  return m;
}

// The Mamba-2 hybrids' shared layout (Bamba, GraniteMoeHybrid): model.layers.N with a Mamba-2
// mixer (mamba) or attention (self_attn), the ffn of type `ffn` under `ffn_module`, RMSNorms
// named input_layernorm and `ffn_norm`.
hf::ArchitectureMapping mamba2_hybrid(const char* name, const char* model_type, const char* ffn, const char* ffn_module,
                                      const char* ffn_norm, const char* final_norm, double default_eps) {
  hf::ArchitectureMapping a;
  a.name = name;
  a.model_type = model_type;
  a.mixers = {"attention", "mamba2"};
  a.ffns = {ffn};
  a.modules = {{"attention", "self_attn"}, {"mamba2", "mamba"}, {ffn, ffn_module}};
  a.embedding = "model.embed_tokens.weight";
  a.final_norm = final_norm;
  a.layer_prefix = "model.layers.";
  a.mixer_norm = "input_layernorm";
  a.ffn_norm = ffn_norm;
  a.norm_eps_key = "rms_norm_eps";
  a.norm_eps_default = default_eps;
  return a;
}

// BambaForCausalLM (IBM's Bamba; the layout of Granite-4.0-H's dense models): Mamba-2
// layers, attention at the layers attn_layer_indices lists, a SwiGLU MLP (feed_forward)
// after every mixer. Its attention rotates half of each head (partial_rotary_factor 0.5,
// the attention plugin's Bamba mapping).
hf::ArchitectureMapping bamba_architecture() {
  hf::ArchitectureMapping a = mamba2_hybrid(kBamba, "bamba", "mlp", "feed_forward", "pre_ff_layernorm",
                                            "model.final_layernorm.weight", 1e-5);
  a.import_config = [](const hf::ConfigView& c, hf::TomlWriter&) {
    c.irrelevant("z_loss_coefficient", "a training loss term on the logits (z-loss), not the logits themselves");
    c.irrelevant("num_logits_to_keep", "how many final positions' logits transformers computes in generation");
  };
  a.export_layers = [](const std::vector<hf::LayerTypes>& layers, hf::ConfigWriter& out) {
    std::vector<std::int64_t> attention;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (layers[i].ffn != "mlp") hf::not_exportable("every Bamba layer has a dense MLP after its mixer");
      if (layers[i].mixer == "attention") attention.push_back(std::int64_t(i));
    }
    out.set_integers("attn_layer_indices", attention);
  };
  return a;
}

// The pattern stack of a hybrid whose config.json lists its attention layers:
// `attention_layers` reads which of the num_hidden_layers they are, and the import writes
// one `mixers` entry per layer, `recurrent` for the others. Export writes the list from the
// layer plan (ArchitectureMapping::export_layers), so the stack itself writes nothing.
using AttentionLayers = std::function<std::vector<bool>(const hf::ConfigView& c, std::int64_t n_layers)>;

hf::ComponentMapping hybrid_stack_mapping(const char* architecture, AttentionLayers attention_layers,
                                          const char* recurrent = "mamba2") {
  hf::ComponentMapping m;
  m.kind = ComponentKind::stack;
  m.type = "pattern";
  m.architectures = {architecture};
  m.import_config = [attention_layers, recurrent](const hf::ConfigView& c, hf::TomlWriter& out) {
    const std::vector<bool> attention = attention_layers(c, c.integer("num_hidden_layers"));
    std::string mixers = "[";
    for (std::size_t i = 0; i < attention.size(); ++i)
      mixers += std::string(i ? ", " : "") + "\"" + (attention[i] ? "attention" : recurrent) + "\"";
    out.set_raw("mixers", mixers + "]");
  };
  m.export_config = [](const Config&, const Config&, hf::ConfigWriter&) {};
  return m;
}

// Bamba's layer plan: attn_layer_indices.
hf::ComponentMapping bamba_stack_mapping() {
  return hybrid_stack_mapping(kBamba, [](const hf::ConfigView& c, std::int64_t n) {
    std::vector<bool> attention(static_cast<std::size_t>(n), false);
    if (c.present("attn_layer_indices"))
      for (const double i : c.numbers("attn_layer_indices")) {
        c.require(i >= 0 && i < double(n) && i == std::floor(i), "attn_layer_indices",
                  "holds " + std::to_string(i) + ", not a layer index below num_hidden_layers");
        attention[std::size_t(i)] = true;
      }
    return attention;
  });
}

// GraniteMoeHybridForCausalLM (IBM's Granite-4.0-H): Mamba-2 and attention layers as
// layer_types lists them, each followed by an MoE with a shared expert (the moe plugin's
// Granite mapping), and Granite's multipliers: the embeddings times embedding_multiplier,
// each residual branch times residual_multiplier (the block's), the logits divided by
// logits_scaling, attention scores scaled by attention_multiplier (the attention plugin's).
hf::ArchitectureMapping granite_architecture() {
  // The MoE's block_sparse_moe and shared_mlp sit in the layer itself (module "").
  hf::ArchitectureMapping a = mamba2_hybrid(kGranite, "granitemoehybrid", "moe", "", "post_attention_layernorm",
                                            "model.norm.weight", 1e-6);
  a.multipliers = true;
  a.import_config = [](const hf::ConfigView& c, hf::TomlWriter& model) {
    model.set("embedding_multiplier", c.number_or("embedding_multiplier", 1.0));
    model.set("logits_scaling", c.number_or("logits_scaling", 1.0));
    model.set_raw("block", "{ type = \"prenorm\", residual_multiplier = " +
                               hf::TomlWriter::toml_number(c.number_or("residual_multiplier", 1.0)) + " }");
  };
  a.export_config = [](const Config& model, hf::ConfigWriter& out) {
    out.set("embedding_multiplier", model.number("embedding_multiplier"));
    out.set("logits_scaling", model.number("logits_scaling"));
    out.set("residual_multiplier", model.component("block").number("residual_multiplier"));
  };
  a.export_layers = [](const std::vector<hf::LayerTypes>& layers, hf::ConfigWriter& out) {
    std::vector<std::string> types;  // transformers 4's names, which transformers 5 reads too
    for (const hf::LayerTypes& l : layers) {
      if (l.ffn != "moe") hf::not_exportable("every GraniteMoeHybrid layer has the MoE after its mixer");
      types.push_back(l.mixer == "attention" ? "attention" : "mamba");
    }
    out.set("layer_types", types);
  };
  return a;
}

// Which of config.json's n layer_types are attention: each entry must be one of the
// `recurrent` or `attention` names; `layers` says what the architecture's layers are, for
// the error.
std::vector<bool> attention_in_layer_types(const hf::ConfigView& c, std::int64_t n,
                                           const std::vector<std::string>& recurrent,
                                           const std::vector<std::string>& attention, const std::string& layers) {
  const std::vector<std::string> types = c.strings("layer_types");
  c.require(std::int64_t(types.size()) == n, "layer_types", "must name num_hidden_layers layers");
  std::vector<bool> out(types.size(), false);
  const auto among = [](const std::vector<std::string>& names, const std::string& t) {
    return std::find(names.begin(), names.end(), t) != names.end();
  };
  for (std::size_t i = 0; i < types.size(); ++i) {
    c.require(among(recurrent, types[i]) || among(attention, types[i]), "layer_types",
              "holds \"" + types[i] + "\"; " + layers);
    out[i] = among(attention, types[i]);
  }
  return out;
}

// Granite's layer plan: layer_types ("mamba" / "attention", transformers 5:
// "linear_attention" / "full_attention"); all Mamba-2 when absent.
hf::ComponentMapping granite_stack_mapping() {
  return hybrid_stack_mapping(kGranite, [](const hf::ConfigView& c, std::int64_t n) {
    if (!c.present("layer_types")) return std::vector<bool>(static_cast<std::size_t>(n), false);
    return attention_in_layer_types(c, n, {"mamba", "linear_attention"}, {"attention", "full_attention"},
                                    "Granite's layers are mamba (linear_attention) or attention (full_attention)");
  });
}

// Qwen3-Next's Gated DeltaNet (transformers' Qwen3NextGatedDeltaNet, model.layers.N.linear_attn):
// the same parameter names as strata's gated_deltanet, conv1d.weight [C, 1, K] on disk.
hf::ComponentMapping gated_deltanet_mapping() {
  hf::ComponentMapping m;
  m.kind = ComponentKind::mixer;
  m.type = "gated_deltanet";
  m.architectures = {kQwen3Next};
  m.import_config = [](const hf::ConfigView& c, hf::TomlWriter& out) {
    c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\" (the convolution's activation)");
    out.set("key_heads", c.integer_or("linear_num_key_heads", 16));
    out.set("value_heads", c.integer_or("linear_num_value_heads", 32));
    out.set("key_head_dim", c.integer_or("linear_key_head_dim", 128));
    out.set("value_head_dim", c.integer_or("linear_value_head_dim", 128));
    out.set("d_conv", c.integer_or("linear_conv_kernel_dim", 4));
    out.set("norm_eps", c.number_or("rms_norm_eps", 1e-6));
  };
  m.export_config = [](const Config& mixer, const Config& model, hf::ConfigWriter& out) {
    if (mixer.number("norm_eps") != model.number("norm_eps"))
      hf::not_exportable("the gated_deltanet norm's norm_eps must equal [model] norm_eps (one rms_norm_eps)");
    const std::int64_t key_dim = mixer.has("key_head_dim") ? mixer.integer("key_head_dim")
                                                           : std::min<std::int64_t>(128, model.integer("d_model"));
    const std::int64_t key_heads = mixer.has("key_heads") ? mixer.integer("key_heads")
                                                          : std::max<std::int64_t>(1, model.integer("d_model") / key_dim);
    out.set("linear_num_key_heads", key_heads);
    out.set("linear_num_value_heads", mixer.has("value_heads") ? mixer.integer("value_heads") : 2 * key_heads);
    out.set("linear_key_head_dim", key_dim);
    out.set("linear_value_head_dim", mixer.has("value_head_dim") ? mixer.integer("value_head_dim") : key_dim);
    out.set("linear_conv_kernel_dim", mixer.integer("d_conv"));
    out.set("hidden_act", "silu");
  };
  m.tensors = {{"conv1d.weight", {"conv1d.weight"}, 1}};
  return m;
}

// Qwen3NextForCausalLM (Qwen3-Next): Gated DeltaNet (linear_attn) and gated attention
// (self_attn) layers as layer_types lists them, each followed by the MoE (mlp) with a gated
// shared expert; the block, final and q/k RMSNorms scale by 1 + weight (zero-centred).
hf::ArchitectureMapping qwen3_next_architecture() {
  hf::ArchitectureMapping a;
  a.name = kQwen3Next;
  a.model_type = "qwen3_next";
  a.mixers = {"attention", "gated_deltanet"};
  a.ffns = {"moe"};
  a.modules = {{"attention", "self_attn"}, {"gated_deltanet", "linear_attn"}, {"moe", "mlp"}};
  a.embedding = "model.embed_tokens.weight";
  a.final_norm = "model.norm.weight";
  a.layer_prefix = "model.layers.";
  a.mixer_norm = "input_layernorm";
  a.ffn_norm = "post_attention_layernorm";
  a.norm_offset = 1.0;
  a.norm_eps_key = "rms_norm_eps";
  a.norm_eps_default = 1e-6;
  a.import_config = [](const hf::ConfigView& c, hf::TomlWriter&) {
    c.require(c.integer_or("decoder_sparse_step", 1) == 1, "decoder_sparse_step",
              "is not 1: some layers then have a dense mlp, and strata imports an MoE in every layer");
    c.require(!c.present("mlp_only_layers") || c.numbers("mlp_only_layers").empty(), "mlp_only_layers",
              "lists dense layers; strata imports an MoE in every layer");
    c.irrelevant("intermediate_size", "the dense mlp's width, used only by mlp_only_layers (none here)");
  };
  a.export_config = [](const Config&, hf::ConfigWriter& out) {
    out.set("decoder_sparse_step", 1);
    out.set_integers("mlp_only_layers", {});
  };
  a.export_layers = [](const std::vector<hf::LayerTypes>& layers, hf::ConfigWriter& out) {
    std::vector<std::string> types;
    for (const hf::LayerTypes& l : layers) {
      if (l.ffn != "moe") hf::not_exportable("every Qwen3-Next layer has the MoE after its mixer");
      types.push_back(l.mixer == "attention" ? "full_attention" : "linear_attention");
    }
    out.set("layer_types", types);
  };
  return a;
}

// Qwen3-Next's layer plan: layer_types ("linear_attention" / "full_attention"), or when
// absent full attention every full_attention_interval-th layer (default 4), as
// transformers' Qwen3NextConfig makes it.
hf::ComponentMapping qwen3_next_stack_mapping() {
  return hybrid_stack_mapping(
      kQwen3Next,
      [](const hf::ConfigView& c, std::int64_t n) {
        std::vector<bool> attention(static_cast<std::size_t>(n), false);
        if (!c.present("layer_types")) {
          const std::int64_t interval = c.integer_or("full_attention_interval", 4);
          c.require(interval >= 1, "full_attention_interval", "must be at least 1");
          for (std::int64_t i = 0; i < n; ++i) attention[std::size_t(i)] = (i + 1) % interval == 0;
          return attention;
        }
        c.irrelevant("full_attention_interval", "layer_types lists every layer");
        return attention_in_layer_types(c, n, {"linear_attention"}, {"full_attention"},
                                        "Qwen3-Next's layers are linear_attention or full_attention");
      },
      "gated_deltanet");
}

// MambaForCausalLM and Mamba2ForCausalLM: the same backbone (backbone.layers.N.mixer after
// the block norm, no ffn), one mixer type each; the head is tied by default for Mamba only.
hf::ArchitectureMapping backbone_architecture(const char* name, const char* model_type, const char* mixer,
                                              bool tie_default) {
  hf::ArchitectureMapping a;
  a.name = name;
  a.model_type = model_type;
  a.mixers = {mixer};
  a.modules = {{mixer, "mixer"}};
  a.embedding = "backbone.embeddings.weight";
  a.final_norm = "backbone.norm_f.weight";
  a.layer_prefix = "backbone.layers.";
  a.mixer_norm = "norm";
  a.norm_eps_key = "layer_norm_epsilon";
  a.norm_eps_default = 1e-5;
  a.tie_default = tie_default;
  a.export_config = [](const Config&, hf::ConfigWriter& out) { out.set("residual_in_fp32", true); };
  return a;
}

}  // namespace

void register_hf_mappings(PluginRegistrar& registrar) {
  registrar.add_hf_architecture(backbone_architecture(kMamba, "mamba", "mamba", true));
  registrar.add_hf_architecture(backbone_architecture(kMamba2, "mamba2", "mamba2", false));
  registrar.add_hf_architecture(bamba_architecture());
  registrar.add_hf_component(bamba_stack_mapping());
  registrar.add_hf_architecture(granite_architecture());
  registrar.add_hf_component(granite_stack_mapping());
  registrar.add_hf_architecture(qwen3_next_architecture());
  registrar.add_hf_component(qwen3_next_stack_mapping());
  registrar.add_hf_component(gated_deltanet_mapping());
  registrar.add_hf_component(mamba2_mapping(kGraniteKeys));
  registrar.add_hf_component(mamba2_mapping(kMamba2Keys));
  registrar.add_hf_component(mamba2_mapping(kBambaKeys));
  registrar.add_hf_component(mamba_mapping(kMambaKeys));
  registrar.add_hf_component(mamba_mapping(kJambaKeys));
}

}  // namespace strata::mamba_plugin
