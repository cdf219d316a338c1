// config.json <-> strata experiments for Llama, Mixtral, Mamba and Jamba.
#include <cmath>
#include <set>
#include <sstream>

#include "hf/hf_arch.h"
#include "strata/error.h"
#include "strata/nn.h"

namespace strata::hf_detail {

namespace fs = std::filesystem;
using nlohmann::json;

Arch arch_from_name(const std::string& architecture, const fs::path& config_json) {
  if (architecture == "LlamaForCausalLM") return Arch::llama;
  if (architecture == "MixtralForCausalLM") return Arch::mixtral;
  if (architecture == "MambaForCausalLM") return Arch::mamba;
  if (architecture == "JambaForCausalLM") return Arch::jamba;
  throw FileFormatError(config_json.string() + ": architecture \"" + architecture + "\" is not one strata imports",
                        "strata reads LlamaForCausalLM, MixtralForCausalLM, MambaForCausalLM and JambaForCausalLM");
}

std::string arch_name(Arch arch) {
  switch (arch) {
    case Arch::llama:
      return "LlamaForCausalLM";
    case Arch::mixtral:
      return "MixtralForCausalLM";
    case Arch::mamba:
      return "MambaForCausalLM";
    case Arch::jamba:
      return "JambaForCausalLM";
  }
  return "?";
}

Names names_of(Arch arch) {
  Names n;
  if (arch == Arch::mamba) {
    n.embedding = "backbone.embeddings.weight";
    n.final_norm = "backbone.norm_f.weight";
    n.layer_prefix = "backbone.layers.";
    n.mixer_norm = "norm";
    n.mamba = "mixer";
    return n;
  }
  n.embedding = "model.embed_tokens.weight";
  n.layer_prefix = "model.layers.";
  n.mixer_norm = "input_layernorm";
  n.attention = "self_attn";
  if (arch == Arch::jamba) {
    n.final_norm = "model.final_layernorm.weight";
    n.ffn_norm = "pre_ff_layernorm";
    n.mamba = "mamba";
    n.mlp = n.moe = "feed_forward";
    n.router = "router";
    n.expert_gate = "gate_proj", n.expert_up = "up_proj", n.expert_down = "down_proj";
  } else {
    n.final_norm = "model.norm.weight";
    n.ffn_norm = "post_attention_layernorm";
    n.mlp = "mlp";
    n.moe = "block_sparse_moe";
    n.router = "gate";
    n.expert_gate = "w1", n.expert_up = "w3", n.expert_down = "w2";
  }
  return n;
}

namespace {

// Typed reads of config.json with errors that name the file, the key and the architecture.
class ConfigReader {
 public:
  ConfigReader(const json& config, const fs::path& file, Arch arch) : config_(config), file_(file), arch_(arch) {}

  std::int64_t integer(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_number_integer()) throw bad(key, "must be an integer, not " + v.dump());
    return v.get<std::int64_t>();
  }
  std::int64_t integer_or(const std::string& key, std::int64_t fallback) const {
    return present(key) ? integer(key) : fallback;
  }
  double number_or(const std::string& key, double fallback) const {
    if (!present(key)) return fallback;
    if (!config_[key].is_number()) throw bad(key, "must be a number, not " + config_[key].dump());
    return config_[key].get<double>();
  }
  bool boolean_or(const std::string& key, bool fallback) const {
    if (!present(key)) return fallback;
    if (!config_[key].is_boolean()) throw bad(key, "must be true or false, not " + config_[key].dump());
    return config_[key].get<bool>();
  }
  std::string string_or(const std::string& key, const std::string& fallback) const {
    if (!present(key)) return fallback;
    if (!config_[key].is_string()) throw bad(key, "must be a string, not " + config_[key].dump());
    return config_[key].get<std::string>();
  }
  bool present(const std::string& key) const { return config_.contains(key) && !config_[key].is_null(); }
  // Settings strata cannot reproduce exactly are refused rather than silently changed.
  void require(bool ok, const std::string& key, const std::string& why) const {
    if (!ok) throw bad(key, why);
  }

 private:
  const json& at(const std::string& key) const {
    if (!present(key))
      throw FileFormatError(file_.string() + ": missing key \"" + key + "\", which " + arch_name(arch_) + " needs",
                            "is this the config.json of a " + arch_name(arch_) + "? add the key from the model card");
    return config_[key];
  }
  FileFormatError bad(const std::string& key, const std::string& why) const {
    return FileFormatError(file_.string() + ": \"" + key + "\" " + why,
                           "strata imports " + arch_name(arch_) + " only where it reproduces the model exactly");
  }
  const json& config_;
  const fs::path& file_;
  Arch arch_;
};

std::string toml_number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

const char* toml_bool(bool b) { return b ? "true" : "false"; }

void write_model_section(std::ostream& os, const ConfigReader& c, const std::string& eps_key, double eps_default,
                         bool tie_default) {
  os << "[model]\n"
     << "d_model = " << c.integer("hidden_size") << "\n"
     << "n_layers = " << c.integer("num_hidden_layers") << "\n"
     << "vocab_size = " << c.integer("vocab_size") << "\n"
     << "norm = \"rmsnorm\"\n"
     << "norm_eps = " << toml_number(c.number_or(eps_key, eps_default)) << "\n"
     << "tie_embeddings = " << toml_bool(c.boolean_or("tie_word_embeddings", tie_default)) << "\n";
}

// Llama, Mixtral and Jamba attention.
void write_attention(std::ostream& os, const ConfigReader& c, bool rope) {
  const std::int64_t heads = c.integer("num_attention_heads");
  os << "\n[model.mixer.attention]\ntype = \"attention\"\n"
     << "n_heads = " << heads << "\n"
     << "n_kv_heads = " << c.integer_or("num_key_value_heads", heads) << "\n";
  if (c.present("head_dim")) os << "head_dim = " << c.integer("head_dim") << "\n";
  if (rope) {
    c.require(!c.present("rope_scaling"), "rope_scaling", "is set; strata's RoPE has no scaling variants yet");
    os << "positions = \"rope\"\nrope_theta = " << toml_number(c.number_or("rope_theta", 10000.0)) << "\n";
  } else {
    os << "positions = \"none\"\n";
  }
  const bool bias = c.boolean_or("attention_bias", false);
  if (bias) os << "qkv_bias = true\nout_bias = true\n";
}

void write_swiglu(std::ostream& os, const ConfigReader& c) {
  c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\" (SwiGLU)");
  os << "activation = \"swiglu\"\nd_ff = " << c.integer("intermediate_size") << "\n";
}

}  // namespace

std::string config_to_toml(Arch arch, const json& config, const fs::path& file) {
  const ConfigReader c(config, file, arch);
  std::ostringstream os;
  os << "# Imported from " << file.string() << " (" << arch_name(arch) << ").\n"
     << "# Model-only: add a [task] and a [train] section to train or fine-tune it.\n";
  const auto time_step_rank = [&](const std::string& key) {
    if (c.present(key) && config[key].is_string()) {
      c.require(config[key].get<std::string>() == "auto", key, "must be an integer or \"auto\"");
      return (c.integer("hidden_size") + 15) / 16;
    }
    return c.integer_or(key, (c.integer("hidden_size") + 15) / 16);
  };
  switch (arch) {
    case Arch::llama:
    case Arch::mixtral: {
      write_model_section(os, c, "rms_norm_eps", arch == Arch::llama ? 1e-6 : 1e-5, false);
      write_attention(os, c, true);
      if (arch == Arch::llama) {
        os << "\n[model.ffn.mlp]\ntype = \"mlp\"\n";
        write_swiglu(os, c);
        if (c.boolean_or("mlp_bias", false)) os << "bias = true\n";
      } else {
        c.require(!c.present("sliding_window"), "sliding_window",
                  "is set; import Mixtral models with full attention (sliding_window = null)");
        os << "\n[model.ffn.moe]\ntype = \"moe\"\n"
           << "n_experts = " << c.integer("num_local_experts") << "\n"
           << "top_k = " << c.integer("num_experts_per_tok") << "\n";
        write_swiglu(os, c);
        os << "router = { type = \"softmax_topk\", renormalize = true }\n"
           << "balance = [{ type = \"switch_aux\", alpha = " << toml_number(c.number_or("router_aux_loss_coef", 0.001))
           << ", normalization = \"hf\" }]\n";
      }
      break;
    }
    case Arch::mamba: {
      write_model_section(os, c, "layer_norm_epsilon", 1e-5, true);
      c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\"");
      const std::int64_t expand = c.integer_or("expand", 2);
      if (c.present("intermediate_size"))
        c.require(c.integer("intermediate_size") == expand * c.integer("hidden_size"), "intermediate_size",
                  "must equal expand * hidden_size");
      os << "\n[model.mixer.mamba]\ntype = \"mamba\"\n"
         << "d_state = " << c.integer_or("state_size", 16) << "\n"
         << "d_conv = " << c.integer_or("conv_kernel", 4) << "\n"
         << "expand = " << expand << "\n"
         << "dt_rank = " << time_step_rank("time_step_rank") << "\n"
         << "conv_bias = " << toml_bool(c.boolean_or("use_conv_bias", true)) << "\n"
         << "proj_bias = " << toml_bool(c.boolean_or("use_bias", false)) << "\n";
      break;
    }
    case Arch::jamba: {
      write_model_section(os, c, "rms_norm_eps", 1e-6, false);
      c.require(c.integer_or("num_experts", 16) > 1, "num_experts",
                "is 1 (no MoE layers); strata's jamba stack needs MoE layers");
      os << "\n[model.stack]\ntype = \"jamba\"\n"
         << "attn_layer_period = " << c.integer_or("attn_layer_period", 8) << "\n"
         << "attn_layer_offset = " << c.integer_or("attn_layer_offset", 4) << "\n"
         << "expert_layer_period = " << c.integer_or("expert_layer_period", 2) << "\n"
         << "expert_layer_offset = " << c.integer_or("expert_layer_offset", 1) << "\n";
      write_attention(os, c, false);
      os << "\n[model.mixer.mamba]\ntype = \"mamba\"\n"
         << "d_state = " << c.integer_or("mamba_d_state", 16) << "\n"
         << "d_conv = " << c.integer_or("mamba_d_conv", 4) << "\n"
         << "expand = " << c.integer_or("mamba_expand", 2) << "\n"
         << "dt_rank = " << time_step_rank("mamba_dt_rank") << "\n"
         << "conv_bias = " << toml_bool(c.boolean_or("mamba_conv_bias", true)) << "\n"
         << "proj_bias = " << toml_bool(c.boolean_or("mamba_proj_bias", false)) << "\n"
         << "inner_norms = true\n"
         << "norm_eps = " << toml_number(c.number_or("rms_norm_eps", 1e-6)) << "\n";
      os << "\n[model.ffn.mlp]\ntype = \"mlp\"\n";
      write_swiglu(os, c);
      os << "\n[model.ffn.moe]\ntype = \"moe\"\n"
         << "n_experts = " << c.integer_or("num_experts", 16) << "\n"
         << "top_k = " << c.integer_or("num_experts_per_tok", 2) << "\n";
      write_swiglu(os, c);
      os << "router = { type = \"softmax_topk\", renormalize = false }\n"
         << "balance = [{ type = \"switch_aux\", alpha = " << toml_number(c.number_or("router_aux_loss_coef", 0.001))
         << ", normalization = \"hf\" }]\n";
      break;
    }
  }
  return os.str();
}

// ---- export ----------------------------------------------------------------------------

namespace {

[[noreturn]] void not_exportable(const Experiment& e, const std::string& why) {
  throw FileFormatError(e.file.string() + ": this model has no Hugging Face counterpart: " + why,
                        "export-hf writes LlamaForCausalLM (attention + SwiGLU mlp), MixtralForCausalLM (attention + "
                        "renormalised softmax top-k moe), MambaForCausalLM (mamba only) and JambaForCausalLM (jamba "
                        "stack)");
}

const Config& only_entry(const Experiment& e, const std::string& key, const std::string& type) {
  const auto& entries = e.model.components(key);
  for (const Config& c : entries)
    if (c.type() == type) return c;
  not_exportable(e, "no [model." + key + "] entry of type " + type);
}

void check_attention(const Experiment& e, const Config& a, bool rope) {
  if (a.string("positions") != (rope ? "rope" : "none"))
    not_exportable(e, std::string("attention needs positions = \"") + (rope ? "rope" : "none") + "\"");
  if (rope && (a.boolean("rope_interleaved") || a.number("rope_fraction") != 1.0))
    not_exportable(e, "Hugging Face rotates the whole head in halves (rope_interleaved = false, rope_fraction = 1)");
  if (a.has("window") || !a.boolean("causal") || a.has("softmax_scale") || a.boolean("fused_qkv"))
    not_exportable(e, "attention with window, causal = false, softmax_scale or fused_qkv");
  if (a.boolean("qkv_bias") != a.boolean("out_bias"))
    not_exportable(e, "Hugging Face's attention_bias sets q, k, v and o biases together");
}

void attention_keys(nlohmann::ordered_json& j, const Experiment& e, const Config& a) {
  const std::int64_t heads = a.integer("n_heads");
  j["num_attention_heads"] = heads;
  j["num_key_value_heads"] = a.has("n_kv_heads") ? a.integer("n_kv_heads") : heads;
  j["head_dim"] = a.has("head_dim") ? a.integer("head_dim") : e.model.integer("d_model") / heads;
  j["attention_bias"] = a.boolean("qkv_bias");
}

std::int64_t swiglu_width(const Experiment& e, const Config& f) {
  if (f.string("activation") != "swiglu") not_exportable(e, "ffn \"" + f.type() + "\" must use activation = swiglu");
  return f.integer("d_ff") > 0 ? f.integer("d_ff") : nn::default_ffn_hidden(true, e.model.integer("d_model"));
}

void check_moe(const Experiment& e, const Config& m, bool renormalize) {
  const Config& router = m.component("router");
  if (router.type() != "softmax_topk" || router.boolean("renormalize") != renormalize)
    not_exportable(e, std::string("the moe router must be softmax_topk with renormalize = ") +
                          (renormalize ? "true" : "false"));
  if (m.integer("n_shared_experts") != 0 || m.number("capacity_factor") != 0)
    not_exportable(e, "moe with shared experts or a capacity");
}

double aux_coef(const Config& m) {
  for (const Config& b : m.components("balance"))
    if (b.type() == "switch_aux") return b.number("alpha");
  return 0.0;
}

void mamba_keys(nlohmann::ordered_json& j, const Experiment& e, const Config& m, const std::string& prefix) {
  const std::int64_t d = e.model.integer("d_model");
  const std::int64_t inner = m.has("d_inner") ? m.integer("d_inner") : m.integer("expand") * d;
  if (inner % d != 0) not_exportable(e, "mamba d_inner must be a multiple of d_model (Hugging Face has expand only)");
  j[prefix + (prefix.empty() ? "state_size" : "d_state")] = m.integer("d_state");
  j[prefix + (prefix.empty() ? "conv_kernel" : "d_conv")] = m.integer("d_conv");
  j[prefix + "expand"] = inner / d;
  j[prefix + (prefix.empty() ? "time_step_rank" : "dt_rank")] =
      m.has("dt_rank") ? m.integer("dt_rank") : (d + 15) / 16;
  j[prefix.empty() ? "use_conv_bias" : "mamba_conv_bias"] = m.boolean("conv_bias");
  j[prefix.empty() ? "use_bias" : "mamba_proj_bias"] = m.boolean("proj_bias");
}

}  // namespace

Arch arch_of_experiment(const Experiment& e) {
  if (e.model.string("norm") != "rmsnorm") not_exportable(e, "norm must be rmsnorm");
  std::set<std::string> mixers, ffns;
  for (const Config& c : e.model.components("mixer")) mixers.insert(c.type());
  for (const Config& c : e.model.components("ffn")) ffns.insert(c.type());
  if (e.model.component("stack").type() == "jamba") return Arch::jamba;
  if (e.model.component("stack").type() != "pattern") not_exportable(e, "an unknown stack");
  if (mixers == std::set<std::string>{"mamba"} && ffns.empty()) return Arch::mamba;
  if (mixers == std::set<std::string>{"attention"} && ffns == std::set<std::string>{"mlp"}) return Arch::llama;
  if (mixers == std::set<std::string>{"attention"} && ffns == std::set<std::string>{"moe"}) return Arch::mixtral;
  not_exportable(e, "its mixer and ffn types match none of the four (one attention mixer with an mlp or moe ffn; "
                    "mamba mixers alone; or the jamba stack)");
}

nlohmann::ordered_json experiment_to_config(Arch arch, const Experiment& e) {
  nlohmann::ordered_json j;
  j["architectures"] = {arch_name(arch)};
  j["model_type"] = arch == Arch::llama ? "llama" : arch == Arch::mixtral ? "mixtral" : arch == Arch::mamba ? "mamba" : "jamba";
  j["hidden_size"] = e.model.integer("d_model");
  j["num_hidden_layers"] = e.model.integer("n_layers");
  j["vocab_size"] = e.model.integer("vocab_size");
  j["tie_word_embeddings"] = e.model.boolean("tie_embeddings");
  j["torch_dtype"] = "float32";
  if (e.model.integer("vocab_size") == 0) not_exportable(e, "[model] vocab_size must be set explicitly");
  const double eps = e.model.number("norm_eps");
  switch (arch) {
    case Arch::llama:
    case Arch::mixtral: {
      const Config& a = only_entry(e, "mixer", "attention");
      check_attention(e, a, true);
      attention_keys(j, e, a);
      j["rope_theta"] = a.number("rope_theta");
      j["rms_norm_eps"] = eps;
      j["hidden_act"] = "silu";
      j["max_position_embeddings"] = 4096;
      if (arch == Arch::llama) {
        const Config& f = only_entry(e, "ffn", "mlp");
        j["intermediate_size"] = swiglu_width(e, f);
        j["mlp_bias"] = f.boolean("bias");
      } else {
        const Config& m = only_entry(e, "ffn", "moe");
        check_moe(e, m, true);
        j["intermediate_size"] = swiglu_width(e, m);
        j["num_local_experts"] = m.integer("n_experts");
        j["num_experts_per_tok"] = m.integer("top_k");
        j["router_aux_loss_coef"] = aux_coef(m);
        j["sliding_window"] = nullptr;
      }
      break;
    }
    case Arch::mamba: {
      const Config& m = only_entry(e, "mixer", "mamba");
      if (m.boolean("inner_norms")) not_exportable(e, "MambaForCausalLM has no inner norms (inner_norms = true)");
      mamba_keys(j, e, m, "");
      j["intermediate_size"] = j["expand"].get<std::int64_t>() * e.model.integer("d_model");
      j["layer_norm_epsilon"] = eps;
      j["hidden_act"] = "silu";
      j["residual_in_fp32"] = true;
      break;
    }
    case Arch::jamba: {
      const Config& stack = e.model.component("stack");
      for (const char* k : {"attn_layer_period", "attn_layer_offset", "expert_layer_period", "expert_layer_offset"})
        j[k] = stack.integer(k);
      const Config& a = only_entry(e, "mixer", "attention");
      check_attention(e, a, false);
      attention_keys(j, e, a);
      const Config& m = only_entry(e, "mixer", "mamba");
      if (!m.boolean("inner_norms")) not_exportable(e, "Jamba's Mamba layers need inner_norms = true");
      if (std::abs(m.number("norm_eps") - eps) > 0)
        not_exportable(e, "the mamba inner norms' norm_eps must equal [model] norm_eps (one rms_norm_eps)");
      mamba_keys(j, e, m, "mamba_");
      const Config& mlp = only_entry(e, "ffn", "mlp");
      const Config& moe = only_entry(e, "ffn", "moe");
      check_moe(e, moe, false);
      if (swiglu_width(e, mlp) != swiglu_width(e, moe) || mlp.boolean("bias"))
        not_exportable(e, "Jamba's dense and expert MLPs share one intermediate_size and have no biases");
      j["intermediate_size"] = swiglu_width(e, mlp);
      j["num_experts"] = moe.integer("n_experts");
      j["num_experts_per_tok"] = moe.integer("top_k");
      j["router_aux_loss_coef"] = aux_coef(moe);
      j["rms_norm_eps"] = eps;
      j["hidden_act"] = "silu";
      j["use_mamba_kernels"] = false;
      break;
    }
  }
  return j;
}

}  // namespace strata::hf_detail
