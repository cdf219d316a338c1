// GGUF export (strata/gguf.h), read back with a small independent GGUF reader: every tensor
// is the Hugging Face export's tensor under llama.cpp's name, with llama's q/k row
// permutation, Mamba's A = -exp(A_log) and experts stacked; types follow convert_hf_to_gguf;
// Q8_0 dequantizes to within half a step; what llama.cpp cannot run is refused.
// (bench/llama_cpp/compare_gguf.py runs the files in llama.cpp itself.)
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <variant>

#include "catch.h"
#include "helpers.h"
#include "jamba/hybrid_registry.h"
#include "strata/experiment.h"
#include "strata/gguf.h"
#include "strata/tokenizer.h"
#include "strata/half.h"
#include "strata/hf.h"
#include "strata/safetensors.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

// A GGUF v3 file as the format describes it (ggml docs/gguf.md), independent of the writer.
struct GgufFile {
  struct TensorInfo {
    std::vector<std::int64_t> shape;  // row-major (the file's dims reversed)
    std::uint32_t type;
    std::uint64_t offset;
  };
  std::map<std::string, std::variant<std::uint64_t, std::int64_t, double, bool, std::string, std::vector<std::int64_t>,
                                     std::vector<std::string>>>
      kv;
  std::map<std::string, TensorInfo> tensors;
  std::vector<std::string> order;
  std::string bytes;
  std::uint64_t data_start = 0;

  explicit GgufFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    REQUIRE(bytes.compare(0, 4, "GGUF") == 0);
    at = 4;
    REQUIRE(get<std::uint32_t>() == 3);
    const auto n_tensors = get<std::uint64_t>(), n_kv = get<std::uint64_t>();
    for (std::uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = str();
      kv[key] = value(get<std::uint32_t>());
    }
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
      const std::string name = str();
      TensorInfo t;
      const auto dims = get<std::uint32_t>();
      for (std::uint32_t d = 0; d < dims; ++d) t.shape.insert(t.shape.begin(), std::int64_t(get<std::uint64_t>()));
      t.type = get<std::uint32_t>();
      t.offset = get<std::uint64_t>();
      tensors[name] = t;
      order.push_back(name);
    }
    data_start = (at + 31) / 32 * 32;
  }

  // Values of a tensor as f32 (F32, F16, BF16 and Q8_0 decoded).
  std::vector<float> values(const std::string& name) const {
    const TensorInfo& t = tensors.at(name);
    std::int64_t n = 1;
    for (auto d : t.shape) n *= d;
    const char* p = bytes.data() + data_start + t.offset;
    std::vector<float> out(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint16_t h;
      switch (t.type) {
        case 0: std::memcpy(&out[i], p + 4 * i, 4); break;
        case 1: std::memcpy(&h, p + 2 * i, 2); out[i] = float(float16::from_bits(h)); break;
        case 30: std::memcpy(&h, p + 2 * i, 2); out[i] = float(bfloat16::from_bits(h)); break;
        case 8: {
          const char* block = p + (i / 32) * 34;
          std::memcpy(&h, block, 2);
          out[i] = float(float16::from_bits(h)) * float(static_cast<std::int8_t>(block[2 + i % 32]));
          break;
        }
        default: FAIL("unexpected tensor type " << t.type);
      }
    }
    return out;
  }

  template <class T>
  T get() {
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string str() {
    const auto n = get<std::uint64_t>();
    std::string s = bytes.substr(at, n);
    at += n;
    return s;
  }
  decltype(kv)::mapped_type value(std::uint32_t type) {
    switch (type) {
      case 4: return std::uint64_t(get<std::uint32_t>());
      case 5: return std::int64_t(get<std::int32_t>());
      case 6: return double(get<float>());
      case 7: return get<std::uint8_t>() != 0;
      case 8: return str();
      case 9: {
        const auto element = get<std::uint32_t>();
        const auto count = get<std::uint64_t>();
        if (element == 8) {
          std::vector<std::string> list;
          for (std::uint64_t i = 0; i < count; ++i) list.push_back(str());
          return list;
        }
        std::vector<std::int64_t> list;
        for (std::uint64_t i = 0; i < count; ++i) list.push_back(element == 5 ? get<std::int32_t>() : get<std::uint32_t>());
        return list;
      }
      default: FAIL("unexpected value type " << type);
    }
    return false;
  }
  std::size_t at = 0;
};

struct Exported {
  GgufFile gguf;
  safetensors::Reader hf;  // the Hugging Face export of the same checkpoint
};

Exported export_fixture(const std::string& name, GgufType type) {
  const fs::path folder = fs::path(STRATA_HF_FIXTURES_DIR) / "architectures" / ("transformers5_" + name);
  const fs::path dir = test::fresh_temp_dir("gguf", name);
  import_hf(folder, dir / "ckpt", test::hybrid_registry(), test::hermetic_options());
  export_hf(dir / "ckpt", dir / "hf", test::hybrid_registry(), test::hermetic_options());
  const GgufExportResult r = export_gguf(dir / "ckpt", dir / "model.gguf", type, test::hybrid_registry(),
                                         test::hermetic_options());
  CHECK(r.bytes == fs::file_size(dir / "model.gguf"));
  return {GgufFile(dir / "model.gguf"), safetensors::Reader(dir / "hf" / "model.safetensors")};
}

std::vector<float> hf_values(const safetensors::Reader& hf, const std::string& name) {
  return hf.load(name).to(DType::f32).contiguous().to_vector<float>();
}

template <class T>
T kv(const GgufFile& f, const std::string& key) {
  REQUIRE(f.kv.count(key) == 1);
  return std::get<T>(f.kv.at(key));
}

}  // namespace

TEST_CASE("gguf: a Llama exports under llama.cpp's names with q and k rows permuted for its RoPE", "[gguf]") {
  const auto [f, hf] = export_fixture("llama", GgufType::f32);
  CHECK(kv<std::string>(f, "general.architecture") == "llama");
  CHECK(kv<std::uint64_t>(f, "llama.block_count") == 2);
  CHECK(kv<std::uint64_t>(f, "llama.attention.head_count") == 4);
  CHECK(kv<std::uint64_t>(f, "llama.rope.dimension_count") == 8);
  CHECK(kv<double>(f, "llama.rope.freq_base") == 500000.0);
  CHECK(kv<std::string>(f, "tokenizer.ggml.model") == "none");
  CHECK(kv<std::uint64_t>(f, "llama.vocab_size") == 64);
  // Every tensor starts at a multiple of 32 in the data section, in order, back to back.
  std::uint64_t expected_offset = 0;
  for (const std::string& name : f.order) {
    CHECK(f.tensors.at(name).offset == expected_offset);
    std::uint64_t n = 4;
    for (auto d : f.tensors.at(name).shape) n *= std::uint64_t(d);
    expected_offset += (n + 31) / 32 * 32;
  }
  // embeddings, final norm, head; per layer 2 norms, q k v o with their biases, gate up down
  CHECK(f.tensors.size() == 3 + 2 * (2 + 8 + 3));
  CHECK(f.values("token_embd.weight") == hf_values(hf, "model.embed_tokens.weight"));
  CHECK(f.values("blk.1.attn_v.weight") == hf_values(hf, "model.layers.1.self_attn.v_proj.weight"));
  CHECK(f.values("blk.0.ffn_down.weight") == hf_values(hf, "model.layers.0.mlp.down_proj.weight"));
  // q: [4 heads x 8, 32]; row h*8 + 2j is Hugging Face's row h*8 + j, row h*8 + 2j + 1 its h*8 + 4 + j.
  const auto q = f.values("blk.0.attn_q.weight"), hf_q = hf_values(hf, "model.layers.0.self_attn.q_proj.weight");
  const auto k_bias = f.values("blk.0.attn_k.bias"), hf_k_bias = hf_values(hf, "model.layers.0.self_attn.k_proj.bias");
  CHECK(q.size() == hf_q.size());
  for (int h = 0; h < 4; ++h)
    for (int j = 0; j < 4; ++j)
      for (int col = 0; col < 32; ++col) {
        CHECK(q[std::size_t((h * 8 + 2 * j) * 32 + col)] == hf_q[std::size_t((h * 8 + j) * 32 + col)]);
        CHECK(q[std::size_t((h * 8 + 2 * j + 1) * 32 + col)] == hf_q[std::size_t((h * 8 + 4 + j) * 32 + col)]);
      }
  for (int h = 0; h < 2; ++h)  // 2 kv heads
    for (int j = 0; j < 4; ++j) CHECK(k_bias[std::size_t(h * 8 + 2 * j + 1)] == hf_k_bias[std::size_t(h * 8 + 4 + j)]);
  CHECK(f.values("blk.0.attn_q.weight") != hf_q);
}

TEST_CASE("gguf: Mamba's A is -exp(A_log), its conv weight squeezed, and Qwen keeps q and k unpermuted", "[gguf]") {
  {
    const auto [f, hf] = export_fixture("mamba", GgufType::f32);
    CHECK(kv<std::string>(f, "general.architecture") == "mamba");
    const auto a = f.values("blk.1.ssm_a"), a_log = hf_values(hf, "backbone.layers.1.mixer.A_log");
    REQUIRE(a.size() == a_log.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(-std::exp(a_log[i])).epsilon(1e-6));
    CHECK(f.tensors.at("blk.0.ssm_conv1d.weight").shape.size() == 2);
    CHECK(f.values("blk.0.ssm_conv1d.weight") == hf_values(hf, "backbone.layers.0.mixer.conv1d.weight"));
    CHECK(f.tensors.count("output.weight") == 0);  // tied: llama.cpp reuses token_embd
  }
  {
    const auto [f, hf] = export_fixture("mamba2", GgufType::f32);
    CHECK(kv<std::string>(f, "general.architecture") == "mamba2");
    CHECK(kv<std::uint64_t>(f, "mamba2.ssm.time_step_rank") == 4);  // llama.cpp's name for the heads
    CHECK(kv<std::uint64_t>(f, "mamba2.ssm.group_count") == 2);
    CHECK(f.tensors.at("blk.0.ssm_a").shape == std::vector<std::int64_t>{4, 1});
    CHECK(f.tensors.at("blk.0.ssm_d").shape == std::vector<std::int64_t>{4, 1});
    CHECK(f.tensors.at("blk.1.ssm_norm.weight").shape == std::vector<std::int64_t>{2, 32});
    CHECK(f.values("blk.1.ssm_dt.bias") == hf_values(hf, "backbone.layers.1.mixer.dt_bias"));
    const auto a = f.values("blk.0.ssm_a"), a_log = hf_values(hf, "backbone.layers.0.mixer.A_log");
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(-std::exp(a_log[i])).epsilon(1e-6));
  }
  const auto [f, hf] = export_fixture("qwen3", GgufType::f32);
  CHECK(kv<std::string>(f, "general.architecture") == "qwen3");
  CHECK(f.values("blk.0.attn_q.weight") == hf_values(hf, "model.layers.0.self_attn.q_proj.weight"));
  CHECK(f.values("blk.0.attn_k_norm.weight") == hf_values(hf, "model.layers.0.self_attn.k_norm.weight"));
}

TEST_CASE("gguf: experts are stacked in expert order, and Jamba marks its Mamba layers with 0 kv heads", "[gguf]") {
  {
    const auto [f, hf] = export_fixture("mixtral", GgufType::f32);
    const auto& info = f.tensors.at("blk.1.ffn_down_exps.weight");
    REQUIRE(info.shape.size() == 3);
    const std::int64_t E = info.shape[0];
    CHECK(std::uint64_t(E) == kv<std::uint64_t>(f, "llama.expert_count"));
    const auto stacked = f.values("blk.1.ffn_down_exps.weight");
    const std::size_t per = stacked.size() / std::size_t(E);
    for (std::int64_t e = 0; e < E; ++e) {
      const auto one = hf_values(hf, "model.layers.1.block_sparse_moe.experts." + std::to_string(e) + ".w2.weight");
      CHECK(std::equal(one.begin(), one.end(), stacked.begin() + std::ptrdiff_t(per * std::size_t(e))));
    }
  }
  const auto [f, hf] = export_fixture("jamba", GgufType::f32);
  CHECK(kv<std::vector<std::int64_t>>(f, "jamba.attention.head_count_kv") == std::vector<std::int64_t>{0, 2, 0, 2});
  CHECK(f.tensors.count("blk.0.ssm_b_norm.weight") == 1);
  CHECK(f.tensors.count("blk.1.ffn_gate_exps.weight") == 1);
  CHECK(f.tensors.count("blk.0.ffn_gate.weight") == 1);
}

TEST_CASE("gguf: f16, bf16 and q8_0 round the weight matrices only, q8_0 within half a step per block", "[gguf]") {
  for (GgufType type : {GgufType::f16, GgufType::bf16, GgufType::q8_0}) {
    const auto [f, hf] = export_fixture("qwen3_moe", type);
    const std::uint32_t matrix_type = type == GgufType::f16 ? 1 : type == GgufType::bf16 ? 30 : 8;
    CHECK(f.tensors.at("blk.0.attn_q.weight").type == matrix_type);
    CHECK(f.tensors.at("blk.0.attn_norm.weight").type == 0);
    CHECK(f.tensors.at("blk.0.ffn_gate_inp.weight").type == 0);  // the router stays f32
    // ffn_down_exps rows are 24 long: not whole Q8_0 blocks, so f16 as convert_hf_to_gguf does
    CHECK(f.tensors.at("blk.0.ffn_down_exps.weight").type == (type == GgufType::q8_0 ? 1u : matrix_type));
    const auto got = f.values("blk.0.attn_q.weight"), want = hf_values(hf, "model.layers.0.self_attn.q_proj.weight");
    for (std::size_t b = 0; b < want.size(); b += 32) {
      float amax = 0;
      for (std::size_t i = b; i < b + 32; ++i) amax = std::max(amax, std::fabs(want[i]));
      const float step = type == GgufType::q8_0 ? amax / 127 : amax * (type == GgufType::f16 ? 1e-3f : 8e-3f);
      for (std::size_t i = b; i < b + 32; ++i) CHECK(std::fabs(got[i] - want[i]) <= 0.5f * step + amax / 1024);  // + the f16 rounding of the Q8_0 scale
    }
    CHECK(f.values("blk.0.attn_norm.weight") == hf_values(hf, "model.layers.0.input_layernorm.weight"));
  }
}

TEST_CASE("gguf: what llama.cpp would run differently is refused naming the checkpoint", "[gguf]") {
  const fs::path folder = fs::path(STRATA_HF_FIXTURES_DIR) / "architectures" / "transformers5_mistral";
  const fs::path dir = test::fresh_temp_dir("gguf", "refused");
  import_hf(folder, dir / "ckpt", test::hybrid_registry(), test::hermetic_options());
  CHECK_THROWS_WITH(export_gguf(dir / "ckpt", dir / "model.gguf", GgufType::f16, test::hybrid_registry(),
                                test::hermetic_options()),
                    Catch::Contains((dir / "ckpt").string()) && Catch::Contains("sliding window of 5 tokens"));
  CHECK_FALSE(fs::exists(dir / "model.gguf"));
  CHECK_THROWS_WITH(parse_gguf_type("q4_k"), Catch::Contains("q4_k"));
}

TEST_CASE("gguf: the checkpoint's tokenizer goes into tokenizer.ggml.* as llama.cpp reads it", "[gguf]") {
  struct Case {
    const char* folder;
    const char* model;
    const char* pre;
  };
  for (const Case& k : {Case{"qwen2", "gpt2", "qwen2"}, Case{"llama3", "gpt2", "llama-bpe"}, Case{"gpt2", "gpt2", "gpt-2"},
                        Case{"sentencepiece", "llama", ""}}) {
    INFO(k.folder);
    const fs::path tokenizer_path = fs::path(STRATA_TOKENIZER_FIXTURES_DIR) / k.folder;
    const std::string text = std::string("[task]\ntype = \"text\"\npath = \"") + STRATA_TEXT_FIXTURE +
                             "\"\ntokenizer = \"" + tokenizer_path.string() + R"("
seq_len = 16
[model]
d_model = 32
n_layers = 1
vocab_size = 2048
[model.mixer.attention]
type = "attention"
n_heads = 4
positions = "rope"
[model.ffn.mlp]
type = "mlp"
activation = "swiglu"
d_ff = 64
)";
    const Experiment e = Experiment::from_string(text, "tok.toml", test::hermetic_options(), test::hybrid_registry());
    const ExperimentObjects objects = build_experiment(e, test::hybrid_registry());
    const fs::path dir = test::fresh_temp_dir("gguf_tokenizer", k.folder);
    save_checkpoint(dir / "ckpt", e, *objects.model, nullptr, objects.task->tokenizer());
    const GgufExportResult r =
        export_gguf(dir / "ckpt", dir / "m.gguf", GgufType::f16, test::hybrid_registry(), test::hermetic_options());
    CHECK(r.tokenizer == k.model);
    CHECK(r.tokenizer_note.empty());
    const GgufFile f(dir / "m.gguf");
    CHECK(kv<std::string>(f, "tokenizer.ggml.model") == k.model);
    const TokenizerVocabulary v = objects.task->tokenizer()->vocabulary();
    const auto tokens = kv<std::vector<std::string>>(f, "tokenizer.ggml.tokens");
    REQUIRE(tokens.size() == 2048);  // the model's rows: the tokenizer's tokens, then unused padding
    CHECK(std::equal(v.tokens.begin(), v.tokens.end(), tokens.begin()));
    CHECK(tokens.back() == "[PAD2047]");
    if (std::string(k.model) == "gpt2") {
      CHECK(kv<std::string>(f, "tokenizer.ggml.pre") == k.pre);
      CHECK(kv<std::vector<std::string>>(f, "tokenizer.ggml.merges") == v.merges);
    } else {
      CHECK(kv<std::uint64_t>(f, "tokenizer.ggml.bos_token_id") == 1);
      CHECK(f.kv.count("tokenizer.ggml.scores") == 1);
    }
    CHECK(kv<bool>(f, "tokenizer.ggml.add_bos_token") == v.add_bos);
  }
}
