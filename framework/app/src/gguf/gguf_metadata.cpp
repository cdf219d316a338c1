#include "gguf/gguf_metadata.h"

#include <map>

#include "strata/error.h"

namespace strata::gguf {
namespace {

using nlohmann::json;

// config.json values with a refusal that names the key.
class ConfigReader {
 public:
  ConfigReader(const json& config, std::string architecture) : c_(config), arch_(std::move(architecture)) {}
  bool has(const char* key) const { return c_.contains(key) && !c_[key].is_null(); }
  std::int64_t integer(const char* key) const {
    if (!has(key) || !c_[key].is_number_integer()) missing(key);
    return c_[key].get<std::int64_t>();
  }
  std::int64_t integer_or(const char* key, std::int64_t fallback) const { return has(key) ? integer(key) : fallback; }
  double number(const char* key) const {
    if (!has(key) || !c_[key].is_number()) missing(key);
    return c_[key].get<double>();
  }
  double number_or(const char* key, double fallback) const { return has(key) ? number(key) : fallback; }
  bool boolean_or(const char* key, bool fallback) const { return has(key) ? c_[key].get<bool>() : fallback; }
  const json& raw(const char* key) const { return c_[key]; }

  [[noreturn]] void refuse(const std::string& what, const std::string& hint) const {
    throw ValueError("export-gguf: " + arch_ + ": " + what, hint);
  }

 private:
  [[noreturn]] void missing(const char* key) const {
    throw ValueError("export-gguf: " + arch_ + " config has no number \"" + key + "\"",
                     "the Hugging Face export of this checkpoint is incomplete; please report it");
  }
  const json& c_;
  std::string arch_;
};

std::uint32_t u32(std::int64_t v) { return static_cast<std::uint32_t>(v); }

// Keys every transformer architecture shares.
void transformer_keys(const std::string& a, const ConfigReader& c, Writer& w, std::int64_t heads, std::int64_t kv_heads) {
  w.add(a + ".block_count", u32(c.integer("num_hidden_layers")));
  w.add(a + ".context_length", u32(c.integer("max_position_embeddings")));
  w.add(a + ".embedding_length", u32(c.integer("hidden_size")));
  // MoE-only models (Qwen3-MoE) may have no dense width: llama.cpp then reads the expert one.
  w.add(a + ".feed_forward_length",
        u32(c.has("intermediate_size") ? c.integer("intermediate_size") : c.integer("moe_intermediate_size")));
  w.add(a + ".attention.head_count", u32(heads));
  w.add(a + ".attention.head_count_kv", u32(kv_heads));
  w.add(a + ".attention.layer_norm_rms_epsilon", float(c.number("rms_norm_eps")));
}

// RoPE: the base; linear scaling is llama.cpp's rope.scaling; other kinds are refused.
void rope_keys(const std::string& a, const ConfigReader& c, Writer& w) {
  w.add(a + ".rope.freq_base", float(c.number_or("rope_theta", 10000.0)));
  if (!c.has("rope_scaling")) return;
  const json& s = c.raw("rope_scaling");
  const std::string kind = s.value("rope_type", s.value("type", std::string("default")));
  if (kind == "default") return;
  if (kind != "linear")
    c.refuse("rope_scaling \"" + kind + "\" is not exported to GGUF",
             "llama.cpp's own converter is needed for it (RoPE scaling other than linear)");
  w.add(a + ".rope.scaling.type", std::string("linear"));
  w.add(a + ".rope.scaling.factor", float(s.at("factor").get<double>()));
}

void no_sliding_window(const ConfigReader& c) {
  const bool qwen_window = c.boolean_or("use_sliding_window", false);
  const bool mistral_window = !c.has("use_sliding_window") && c.has("sliding_window") &&
                              c.integer("sliding_window") < c.integer("max_position_embeddings");
  if (qwen_window || mistral_window)
    c.refuse("a sliding window of " + std::to_string(c.integer("sliding_window")) +
                 " tokens: llama.cpp runs this architecture with full attention, which would change the model",
             "export a model without a sliding window (or to Hugging Face, export-hf)");
}

ArchitectureInfo llama_family(const std::string& hf, const ConfigReader& c, Writer& w) {
  ArchitectureInfo info;
  info.heads = c.integer("num_attention_heads");
  info.kv_heads = c.integer_or("num_key_value_heads", info.heads);
  const std::int64_t hidden = c.integer("hidden_size");
  const std::int64_t head_dim = c.integer_or("head_dim", hidden / info.heads);
  no_sliding_window(c);
  if (hf == "LlamaForCausalLM" || hf == "MistralForCausalLM" || hf == "MixtralForCausalLM") {
    info.name = "llama";
    info.permute_qk = true;
  } else if (hf == "Qwen2ForCausalLM") {
    info.name = "qwen2";
  } else if (hf == "Qwen3ForCausalLM") {
    info.name = "qwen3";
  } else {
    info.name = "qwen3moe";
  }
  const std::string& a = info.name;
  if (a == "qwen2" && info.heads * head_dim != hidden)
    c.refuse("heads x head_dim = " + std::to_string(info.heads * head_dim) + " differs from hidden_size " +
                 std::to_string(hidden) + ": llama.cpp's qwen2 needs them equal",
             "export a model whose attention width equals d_model");
  w.add("general.architecture", a);
  transformer_keys(a, c, w, info.heads, info.kv_heads);
  rope_keys(a, c, w);
  w.add(a + ".rope.dimension_count", u32(head_dim));
  w.add(a + ".attention.key_length", u32(head_dim));
  w.add(a + ".attention.value_length", u32(head_dim));
  if (hf == "MixtralForCausalLM") {
    w.add(a + ".expert_count", u32(c.integer("num_local_experts")));
    w.add(a + ".expert_used_count", u32(c.integer("num_experts_per_tok")));
  }
  if (a == "qwen3moe") {
    if (!c.boolean_or("norm_topk_prob", false))
      c.refuse("norm_topk_prob is false, but llama.cpp's qwen3moe always renormalises the top-k gate weights",
               "export a model whose router renormalises its top-k weights");
    w.add(a + ".expert_count", u32(c.integer(c.has("num_experts") ? "num_experts" : "num_local_experts")));
    w.add(a + ".expert_used_count", u32(c.integer("num_experts_per_tok")));
    w.add(a + ".expert_feed_forward_length", u32(c.integer("moe_intermediate_size")));
  }
  return info;
}

// llama.cpp's Mamba kernels take d_inner = 2 d_model only.
void mamba_expansion(const ConfigReader& c, std::int64_t d_model, std::int64_t d_inner) {
  if (d_inner != 2 * d_model)
    c.refuse("d_inner " + std::to_string(d_inner) + " is not 2 x d_model " + std::to_string(d_model) +
                 ": llama.cpp supports an expansion factor of 2 only",
             "export a Mamba model with expand = 2");
}

// MambaForCausalLM and Mamba2ForCausalLM (llama.cpp's mamba, mamba2): the keys they share.
// `time_step_rank` is Mamba-1's dt rank and Mamba-2's head count (llama.cpp's one name).
void ssm_keys(const std::string& a, const ConfigReader& c, Writer& w, std::int64_t d_model, std::int64_t d_inner,
              std::int64_t time_step_rank) {
  if (!c.boolean_or("use_conv_bias", true) || c.boolean_or("use_bias", false))
    c.refuse("use_conv_bias = false or use_bias = true: llama.cpp's " + a +
                 " has conv biases and no projection biases",
             "export a model with conv_bias = true and proj_bias = false");
  w.add("general.architecture", a);
  w.add(a + ".context_length", u32(1 << 20));  // recurrent: no limit of its own
  w.add(a + ".embedding_length", u32(d_model));
  w.add(a + ".feed_forward_length", u32(0));
  w.add(a + ".attention.head_count", u32(0));
  w.add(a + ".block_count", u32(c.integer("num_hidden_layers")));
  w.add(a + ".ssm.conv_kernel", u32(c.integer("conv_kernel")));
  w.add(a + ".ssm.inner_size", u32(d_inner));
  w.add(a + ".ssm.state_size", u32(c.integer("state_size")));
  w.add(a + ".ssm.time_step_rank", u32(time_step_rank));
  w.add(a + ".attention.layer_norm_rms_epsilon", float(c.number("layer_norm_epsilon")));
}

ArchitectureInfo mamba(const ConfigReader& c, Writer& w) {
  const std::int64_t d_model = c.integer("hidden_size"), d_inner = c.integer("intermediate_size");
  mamba_expansion(c, d_model, d_inner);
  ssm_keys("mamba", c, w, d_model, d_inner, c.integer("time_step_rank"));
  w.add("mamba.ssm.dt_b_c_rms", false);
  return {"mamba", false, 0, 0};
}

ArchitectureInfo mamba2(const ConfigReader& c, Writer& w) {
  const std::int64_t d_model = c.integer("hidden_size"), d_inner = c.integer("expand") * d_model;
  const std::int64_t heads = c.integer("num_heads"), groups = c.integer("n_groups");
  const std::string a = "mamba2";
  ssm_keys(a, c, w, d_model, d_inner, heads);
  w.add(a + ".ssm.group_count", u32(groups));
  ArchitectureInfo info{a, false, heads, 0};
  info.ssm_groups = groups;
  return info;
}

ArchitectureInfo jamba(const ConfigReader& c, Writer& w) {
  const std::int64_t d_model = c.integer("hidden_size"), layers = c.integer("num_hidden_layers");
  mamba_expansion(c, d_model, c.integer("mamba_expand") * d_model);
  if (!c.boolean_or("mamba_conv_bias", true) || c.boolean_or("mamba_proj_bias", false))
    c.refuse("mamba_conv_bias = false or mamba_proj_bias = true: llama.cpp's jamba has conv biases and no projection "
             "biases",
             "export a Jamba model with conv biases and without projection biases");
  const std::int64_t heads = c.integer("num_attention_heads"), kv = c.integer_or("num_key_value_heads", heads);
  const std::int64_t period = c.integer("attn_layer_period"), offset = c.integer("attn_layer_offset");
  std::vector<std::int32_t> kv_per_layer;  // 0 marks a Mamba layer (llama.cpp's is_recurrent)
  for (std::int64_t i = 0; i < layers; ++i)
    kv_per_layer.push_back(i >= offset && (i - offset) % period == 0 ? std::int32_t(kv) : 0);
  const std::string a = "jamba";
  w.add("general.architecture", a);
  w.add(a + ".block_count", u32(layers));
  // No positional encoding: any length; transformers' default when the config has none.
  w.add(a + ".context_length", u32(c.integer_or("max_position_embeddings", 262144)));
  w.add(a + ".embedding_length", u32(d_model));
  w.add(a + ".feed_forward_length", u32(c.integer("intermediate_size")));
  w.add(a + ".attention.head_count", u32(heads));
  w.add(a + ".attention.head_count_kv", kv_per_layer);
  w.add(a + ".ssm.conv_kernel", u32(c.integer("mamba_d_conv")));
  w.add(a + ".ssm.inner_size", u32(c.integer("mamba_expand") * d_model));
  w.add(a + ".ssm.state_size", u32(c.integer("mamba_d_state")));
  w.add(a + ".ssm.time_step_rank", u32(c.integer("mamba_dt_rank")));
  w.add(a + ".attention.layer_norm_rms_epsilon", float(c.number("rms_norm_eps")));
  w.add(a + ".expert_count", u32(c.integer("num_experts")));
  w.add(a + ".expert_used_count", u32(c.integer("num_experts_per_tok")));
  return {a, false, heads, kv};
}

}  // namespace

ArchitectureInfo architecture_metadata(const std::string& hf, const json& config, std::int64_t vocab_size, Writer& w) {
  const ConfigReader c(config, hf);
  ArchitectureInfo info;
  if (hf == "LlamaForCausalLM" || hf == "MistralForCausalLM" || hf == "MixtralForCausalLM" ||
      hf == "Qwen2ForCausalLM" || hf == "Qwen3ForCausalLM" || hf == "Qwen3MoeForCausalLM")
    info = llama_family(hf, c, w);
  else if (hf == "MambaForCausalLM")
    info = mamba(c, w);
  else if (hf == "JambaForCausalLM")
    info = jamba(c, w);
  else if (hf == "Mamba2ForCausalLM")
    info = mamba2(c, w);
  else
    throw ValueError("export-gguf: " + hf + " has no llama.cpp architecture strata writes",
                     "GGUF export covers Llama, Mistral, Mixtral, Qwen2, Qwen3, Qwen3-MoE, Mamba, Mamba-2 and Jamba");
  w.add(info.name + ".vocab_size", u32(vocab_size));
  return info;
}

namespace {

// llama.cpp's names for the byte-level BPE split patterns it implements (llama-vocab.cpp),
// keyed by the pattern as tokenizer.json holds it.
std::string llama_cpp_pre_tokenizer(const std::string& pattern) {
  if (pattern.empty()) return "gpt-2";  // GPT-2's own ByteLevel regex
  static const std::map<std::string, std::string> known = {
      {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
       "llama-bpe"},
      {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
       "qwen2"},
  };
  const auto it = known.find(pattern);
  return it == known.end() ? "" : it->second;
}

}  // namespace

std::string tokenizer_metadata(const Tokenizer* tokenizer, std::int64_t vocab_size, Writer& w, std::string& note) {
  const auto none = [&](const std::string& why) {
    note = why;
    w.add("tokenizer.ggml.model", std::string("none"));
    return std::string("none");
  };
  if (!tokenizer) return none("");
  TokenizerVocabulary v = tokenizer->vocabulary();
  using Kind = TokenizerVocabulary::Kind;
  if (v.kind == Kind::bytes) return none("");
  if (std::int64_t(v.tokens.size()) > vocab_size)
    return none(tokenizer->describe() + " has more tokens than the model's " + std::to_string(vocab_size));
  std::string pre;
  if (v.kind == Kind::byte_level_bpe) {
    pre = llama_cpp_pre_tokenizer(v.split_pattern);
    if (pre.empty()) return none("llama.cpp implements no pre-tokenizer with the split pattern " + v.split_pattern);
  } else if (v.kind == Kind::bpe) {
    return none("a tokenizer.json BPE that is not byte-level goes to GGUF from its SentencePiece tokenizer.model, "
                "which the checkpoint does not have");
  }
  // Ids the tokenizer does not use (and the model's padding rows) as unique unused tokens.
  v.tokens.resize(std::size_t(vocab_size));
  v.types.resize(std::size_t(vocab_size), 5);
  if (!v.scores.empty()) v.scores.resize(std::size_t(vocab_size), -1000.0f);
  for (std::size_t id = 0; id < v.tokens.size(); ++id)
    if (v.tokens[id].empty()) {
      v.tokens[id] = "[PAD" + std::to_string(id) + "]";
      v.types[id] = 5;
    }
  const bool sentencepiece = v.kind == Kind::sentencepiece;
  w.add("tokenizer.ggml.model", std::string(sentencepiece ? "llama" : "gpt2"));
  if (!sentencepiece) w.add("tokenizer.ggml.pre", pre);
  w.add("tokenizer.ggml.tokens", v.tokens);
  if (sentencepiece) w.add("tokenizer.ggml.scores", v.scores);
  w.add("tokenizer.ggml.token_type", v.types);
  if (!sentencepiece) w.add("tokenizer.ggml.merges", v.merges);
  if (v.bos) w.add("tokenizer.ggml.bos_token_id", u32(*v.bos));
  if (v.eos) w.add("tokenizer.ggml.eos_token_id", u32(*v.eos));
  if (v.unk) w.add("tokenizer.ggml.unknown_token_id", u32(*v.unk));
  w.add("tokenizer.ggml.add_bos_token", v.add_bos);
  w.add("tokenizer.ggml.add_eos_token", false);
  return sentencepiece ? "llama" : "gpt2";
}

}  // namespace strata::gguf
