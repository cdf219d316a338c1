// export-gguf: a checkpoint -> its Hugging Face export (hf_export_tensors, choose_export) ->
// the GGUF file llama.cpp's convert_hf_to_gguf.py would make of that export.
#include <nlohmann/json.hpp>
#include <cmath>
#include <map>
#include <regex>

#include "gguf/gguf_metadata.h"
#include "gguf/gguf_writer.h"
#include "hf/hf_architecture.h"
#include "strata/error.h"
#include "strata/gguf.h"
#include "strata/safetensors.h"

namespace strata {
namespace {

namespace fs = std::filesystem;
using gguf::TensorType;
using hf_detail::HfTensorSource;

enum class Transform { none, permute_q, permute_k, negative_exp };

// One GGUF tensor: a Hugging Face tensor, or one per expert stacked along a new first dim.
struct Planned {
  std::string name;
  std::vector<std::int64_t> shape;
  Transform transform = Transform::none;
  std::map<std::int64_t, const HfTensorSource*> experts;  // expert index (or 0) -> its tensor
};

struct NameRule {
  std::regex pattern;
  std::string gguf;  // $1.. of the pattern substituted
  Transform transform = Transform::none;
  bool per_expert = false;  // the first group is the expert index, $2.. the rest
};

const std::vector<NameRule>& global_rules() {
  static const std::vector<NameRule> rules = {
      {std::regex(R"(^(?:model\.embed_tokens|backbone\.embeddings)\.weight$)"), "token_embd.weight"},
      {std::regex(R"(^(?:model\.norm|model\.final_layernorm|backbone\.norm_f)\.weight$)"), "output_norm.weight"},
      {std::regex(R"(^lm_head\.weight$)"), "output.weight"},
  };
  return rules;
}

// Per layer: the rest of "model.layers.N." / "backbone.layers.N.".
const std::vector<NameRule>& layer_rules() {
  static const std::vector<NameRule> rules = {
      {std::regex(R"(^(?:input_layernorm|norm)\.weight$)"), "attn_norm.weight"},
      {std::regex(R"(^(?:post_attention_layernorm|pre_ff_layernorm)\.weight$)"), "ffn_norm.weight"},
      {std::regex(R"(^self_attn\.q_proj\.(weight|bias)$)"), "attn_q.$1", Transform::permute_q},
      {std::regex(R"(^self_attn\.k_proj\.(weight|bias)$)"), "attn_k.$1", Transform::permute_k},
      {std::regex(R"(^self_attn\.v_proj\.(weight|bias)$)"), "attn_v.$1"},
      {std::regex(R"(^self_attn\.o_proj\.(weight|bias)$)"), "attn_output.$1"},
      {std::regex(R"(^self_attn\.q_norm\.weight$)"), "attn_q_norm.weight"},
      {std::regex(R"(^self_attn\.k_norm\.weight$)"), "attn_k_norm.weight"},
      {std::regex(R"(^(?:mlp|feed_forward)\.(gate|up|down)_proj\.(weight|bias)$)"), "ffn_$1.$2"},
      {std::regex(R"(^(?:block_sparse_moe\.gate|mlp\.gate|feed_forward\.router)\.weight$)"), "ffn_gate_inp.weight"},
      {std::regex(R"(^block_sparse_moe\.experts\.(\d+)\.w1\.weight$)"), "ffn_gate_exps.weight", Transform::none, true},
      {std::regex(R"(^block_sparse_moe\.experts\.(\d+)\.w3\.weight$)"), "ffn_up_exps.weight", Transform::none, true},
      {std::regex(R"(^block_sparse_moe\.experts\.(\d+)\.w2\.weight$)"), "ffn_down_exps.weight", Transform::none, true},
      {std::regex(R"(^(?:mlp|feed_forward)\.experts\.(\d+)\.(gate|up|down)_proj\.weight$)"), "ffn_$2_exps.weight",
       Transform::none, true},
      {std::regex(R"(^(?:mixer|mamba)\.in_proj\.weight$)"), "ssm_in.weight"},
      {std::regex(R"(^(?:mixer|mamba)\.conv1d\.(weight|bias)$)"), "ssm_conv1d.$1"},
      {std::regex(R"(^(?:mixer|mamba)\.x_proj\.weight$)"), "ssm_x.weight"},
      {std::regex(R"(^(?:mixer|mamba)\.dt_proj\.(weight|bias)$)"), "ssm_dt.$1"},
      {std::regex(R"(^(?:mixer|mamba)\.A_log$)"), "ssm_a", Transform::negative_exp},
      {std::regex(R"(^(?:mixer|mamba)\.D$)"), "ssm_d"},
      {std::regex(R"(^(?:mixer|mamba)\.out_proj\.weight$)"), "ssm_out.weight"},
      {std::regex(R"(^mamba\.(dt|b|c)_layernorm\.weight$)"), "ssm_$1_norm.weight"},
      {std::regex(R"(^mixer\.dt_bias$)"), "ssm_dt.bias"},          // Mamba-2
      {std::regex(R"(^mixer\.norm\.weight$)"), "ssm_norm.weight"},  // Mamba-2's gated norm
  };
  return rules;
}

// Fills $1, $2 of `pattern` from `m`, starting at group `first`.
std::string substitute(const std::string& pattern, const std::smatch& m) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '$' && i + 1 < pattern.size() && std::isdigit(static_cast<unsigned char>(pattern[i + 1]))) {
      out += m[std::size_t(pattern[i + 1] - '0')].str();
      ++i;
    } else {
      out.push_back(pattern[i]);
    }
  }
  return out;
}

// Where `hf_name` goes; false when nothing in llama.cpp takes it.
bool map_name(const std::string& hf_name, std::string& name, Transform& transform, std::int64_t& expert) {
  static const std::regex layer(R"(^(?:model|backbone)\.layers\.(\d+)\.(.+)$)");
  std::smatch m;
  expert = 0;
  for (const NameRule& r : global_rules())
    if (std::regex_match(hf_name, m, r.pattern)) {
      name = r.gguf;
      transform = r.transform;
      return true;
    }
  if (!std::regex_match(hf_name, m, layer)) return false;
  const std::string index = m[1].str(), rest = m[2].str();
  for (const NameRule& r : layer_rules()) {
    std::smatch part;
    if (!std::regex_match(rest, part, r.pattern)) continue;
    name = "blk." + index + "." + substitute(r.gguf, part);
    transform = r.transform;
    if (r.per_expert) expert = std::stoll(part[1].str());
    return true;
  }
  return false;
}

// llama.cpp's "llama" RoPE rotates adjacent pairs; Hugging Face's rotate_half pairs channel
// j with j + head_dim/2. Row h*hd + 2j takes row h*hd + j, row h*hd + 2j + 1 takes row
// h*hd + hd/2 + j (convert_hf_to_gguf's permute). rows: [heads * head_dim, cols].
std::vector<float> permute_rows(const std::vector<float>& x, std::int64_t heads, std::int64_t rows) {
  const std::int64_t cols = std::int64_t(x.size()) / rows, hd = rows / heads;
  std::vector<float> out(x.size());
  for (std::int64_t h = 0; h < heads; ++h)
    for (std::int64_t j = 0; j < hd / 2; ++j)
      for (int half = 0; half < 2; ++half) {
        const std::int64_t to = h * hd + 2 * j + half, from = h * hd + half * (hd / 2) + j;
        std::copy_n(x.begin() + from * cols, cols, out.begin() + to * cols);
      }
  return out;
}

// convert_hf_to_gguf's choice: norms, biases and other 1-D tensors, routers, SSM A/D and
// conv weights stay f32; Q8_0 needs rows of whole 32-value blocks, else f16.
TensorType tensor_type(const Planned& t, GgufType requested) {
  const std::string& n = t.name;
  const auto ends_with = [&](const std::string& suffix) {
    return n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (requested == GgufType::f32 || t.shape.size() <= 1 || ends_with("_norm.weight") || !ends_with(".weight") ||
      n.find("ffn_gate_inp") != std::string::npos || n.find("ssm_conv1d") != std::string::npos)
    return TensorType::f32;
  switch (requested) {
    case GgufType::f16: return TensorType::f16;
    case GgufType::bf16: return TensorType::bf16;
    case GgufType::q8_0: return t.shape.back() % gguf::kQ8BlockSize == 0 ? TensorType::q8_0 : TensorType::f16;
    default: return TensorType::f32;
  }
}

std::uint32_t file_type(GgufType t) {  // llama.cpp's LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0
  switch (t) {
    case GgufType::f32: return 0;
    case GgufType::f16: return 1;
    case GgufType::bf16: return 32;
    case GgufType::q8_0: return 7;
  }
  return 0;
}

std::vector<Planned> plan_tensors(const std::vector<HfTensorSource>& sources, const std::string& hf_architecture,
                                  const gguf::ArchitectureInfo& arch) {
  const bool permute = arch.permute_qk;
  std::vector<Planned> planned;
  std::map<std::string, std::size_t> index;
  for (const HfTensorSource& s : sources) {
    std::string name;
    Transform transform = Transform::none;
    std::int64_t expert = 0;
    if (!map_name(s.name, name, transform, expert))
      throw ValueError("export-gguf: " + hf_architecture + " tensor " + s.name + " has no counterpart in llama.cpp",
                       "llama.cpp cannot run this model's options (see docs/interop.md#gguf)");
    if (!permute && (transform == Transform::permute_q || transform == Transform::permute_k))
      transform = Transform::none;
    auto [it, fresh] = index.emplace(name, planned.size());
    if (fresh) planned.push_back({name, {}, transform, {}});
    planned[it->second].experts[expert] = &s;
  }
  for (Planned& p : planned) {
    const Shape& first = p.experts.begin()->second->shape;
    std::vector<std::int64_t> shape(first.begin(), first.end());
    if (p.name.find("ssm_conv1d.weight") != std::string::npos && shape.size() == 3)
      shape = {shape[0], shape[2]};  // [d_inner, 1, d_conv] -> [d_inner, d_conv]
    // Mamba-2 (convert_hf_to_gguf): A and D per head as [H, 1], the gated norm's scale per group
    if (arch.name == "mamba2" && shape.size() == 1 && (p.name.ends_with(".ssm_a") || p.name.ends_with(".ssm_d")))
      shape.push_back(1);
    if (p.name.ends_with(".ssm_norm.weight") && arch.ssm_groups > 0)
      shape = {arch.ssm_groups, shape[0] / arch.ssm_groups};
    const bool stacked = p.name.find("_exps.") != std::string::npos;
    if (stacked) {
      const auto E = std::int64_t(p.experts.size());
      if (p.experts.rbegin()->first != E - 1)
        throw ValueError("export-gguf: the experts of " + p.name + " are not numbered 0.." + std::to_string(E - 1));
      shape.insert(shape.begin(), E);
    }
    p.shape = std::move(shape);
  }
  return planned;
}

}  // namespace

GgufType parse_gguf_type(const std::string& name) {
  if (name == "f32") return GgufType::f32;
  if (name == "f16") return GgufType::f16;
  if (name == "bf16") return GgufType::bf16;
  if (name == "q8_0") return GgufType::q8_0;
  throw ValueError("GGUF type '" + name + "' is not one strata writes", "use f32, f16, bf16 or q8_0");
}

GgufExportResult export_gguf(const fs::path& checkpoint, const fs::path& out, GgufType type,
                             ComponentRegistry& registry, const ExperimentOptions& options,
                             const CheckpointChecks& checks) {
  const DType dtype =
      safetensors::common_float_dtype(safetensors::Reader(resolve_checkpoint_folder(checkpoint) / kCheckpointWeightsFile));
  const LoadedCheckpoint c = load_checkpoint(checkpoint, options, registry, dtype, checks);
  const std::int64_t vocab = c.model->dims().vocab_size;
  const hf_detail::ExportChoice choice = hf_detail::choose_export(c.experiment, vocab, registry);
  const nlohmann::json config = nlohmann::json::parse(choice.config);

  // What llama.cpp cannot run as strata runs the model is refused naming the checkpoint.
  const auto refused = [&](const ValueError& e) {
    return FileFormatError(c.folder.string() + ": " + e.message(), e.hint());
  };
  gguf::Writer writer;
  GgufExportResult result;
  result.hf_architecture = choice.architecture->name;
  gguf::ArchitectureInfo arch;
  std::vector<Planned> planned;
  const std::vector<HfTensorSource> sources = hf_detail::hf_export_tensors(*choice.architecture, registry, *c.model);
  try {
    arch = gguf::architecture_metadata(result.hf_architecture, config, vocab, writer);
    planned = plan_tensors(sources, result.hf_architecture, arch);
  } catch (const ValueError& e) {
    throw refused(e);
  }
  result.architecture = arch.name;
  writer.add("general.name", c.folder.filename().string() == "checkpoint" ? c.folder.parent_path().filename().string()
                                                                          : c.folder.filename().string());
  writer.add("general.file_type", file_type(type));
  writer.add("general.quantization_version", std::uint32_t(2));
  // A SentencePiece model first: llama.cpp rebuilds Llama 2 / Mistral tokenizers from it.
  std::unique_ptr<Tokenizer> tokenizer;
  for (const char* name : {"tokenizer.model", "tokenizer.json"})
    if (!tokenizer && fs::is_regular_file(c.folder / name)) tokenizer = load_tokenizer(c.folder / name);
  result.tokenizer = gguf::tokenizer_metadata(tokenizer.get(), vocab, writer, result.tokenizer_note);

  for (const Planned& p : planned) {
    const std::int64_t heads = p.transform == Transform::permute_q ? arch.heads : arch.kv_heads;
    writer.add_tensor({p.name, p.shape, tensor_type(p, type),
                       [p, heads](const std::function<void(const float*, std::size_t)>& sink) {
                         for (const auto& [expert, source] : p.experts) {
                           std::vector<float> x = source->make().to(DType::f32).contiguous().to_vector<float>();
                           if (p.transform == Transform::permute_q || p.transform == Transform::permute_k)
                             x = permute_rows(x, heads, source->shape[0]);
                           else if (p.transform == Transform::negative_exp)
                             for (float& v : x) v = -std::exp(v);
                           sink(x.data(), x.size());
                         }
                       }});
  }
  result.tensors = std::int64_t(writer.tensor_count());
  result.bytes = writer.write(out);
  return result;
}

}  // namespace strata
