// Hugging Face interop: export then import gives back the same model for each of the four
// architectures, and every kind of bad input (config keys, architecture, tensors, shapes,
// files) is a FileFormatError that names it. Logits against transformers itself are in
// test_hf_fixtures.cpp.
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "jamba/hybrid_registry.h"
#include "plugin_registry.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/hf.h"
#include "strata/safetensors.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

// Small models of the four architectures, as strata experiments (model-only).
const char* kLlama = R"(
[model]
d_model = 16
n_layers = 2
vocab_size = 40
norm_eps = 1e-5
tie_embeddings = false
init_std = 0.5
[model.mixer.attention]
type = "attention"
n_heads = 4
n_kv_heads = 2
rope_theta = 10000.0
[model.ffn.mlp]
type = "mlp"
d_ff = 24
)";

const char* kMixtral = R"(
[model]
d_model = 16
n_layers = 2
vocab_size = 40
tie_embeddings = false
init_std = 0.5
[model.mixer.attention]
type = "attention"
n_heads = 4
n_kv_heads = 2
rope_theta = 1e6
[model.ffn.moe]
type = "moe"
n_experts = 4
top_k = 2
d_ff = 12
router = { type = "softmax_topk", renormalize = true }
)";

const char* kMamba = R"(
[model]
d_model = 16
n_layers = 2
vocab_size = 40
init_std = 0.5
[model.mixer.mamba]
type = "mamba"
d_state = 4
dt_rank = 2
)";

const char* kJamba = R"(
[model]
d_model = 16
n_layers = 4
vocab_size = 40
norm_eps = 1e-6
tie_embeddings = false
init_std = 0.5
[model.stack]
type = "jamba"
attn_layer_period = 2
attn_layer_offset = 1
expert_layer_period = 2
expert_layer_offset = 1
[model.mixer.attention]
type = "attention"
n_heads = 4
n_kv_heads = 2
positions = "none"
[model.mixer.mamba]
type = "mamba"
d_state = 4
dt_rank = 2
inner_norms = true
norm_eps = 1e-6
[model.ffn.mlp]
type = "mlp"
d_ff = 12
[model.ffn.moe]
type = "moe"
n_experts = 4
top_k = 2
d_ff = 12
router = { type = "softmax_topk", renormalize = false }
)";

// Saves `text` as a strata checkpoint (random init) under `dir`/strata.
fs::path strata_checkpoint(const std::string& text, const fs::path& dir) {
  const fs::path file = dir / "model.toml";
  std::ofstream(file) << text;
  const Experiment e = Experiment::load(file, test::hermetic_options(), test::hybrid_registry());
  const auto objects = build_experiment(e, test::hybrid_registry());
  save_checkpoint(dir / "strata", e, *objects.model);
  return dir / "strata";
}

Tensor logits_of(const fs::path& checkpoint, const Tensor& ids) {
  LoadedCheckpoint c = load_checkpoint(checkpoint, test::hermetic_options(), test::hybrid_registry());
  autograd::NoGradGuard no_grad;
  StepContext ctx(false);
  return c.model->forward(ids, ctx);
}

// An exported folder of a small Llama, to break in the error tests.
fs::path llama_folder(const std::string& name) {
  const fs::path dir = test::fresh_temp_dir("hf", name);
  export_hf(strata_checkpoint(kLlama, dir), dir / "hf", test::hybrid_registry(), test::hermetic_options());
  return dir / "hf";
}

nlohmann::json read_json(const fs::path& file) { return nlohmann::json::parse(std::ifstream(file)); }
void write_json(const fs::path& file, const nlohmann::json& j) { std::ofstream(file) << j.dump(2); }

void require_import_error(const fs::path& folder, const std::string& fragment) {
  INFO("expecting: " << fragment);
  try {
    import_hf(folder, folder.parent_path() / "imported", test::hybrid_registry(), test::hermetic_options());
    FAIL("no error");
  } catch (const FileFormatError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains(fragment));
  }
  // Nothing half-written is left where the import was going.
  CHECK_FALSE(fs::exists(folder.parent_path() / "imported"));
}

}  // namespace

// Llama with attention_bias and mlp_bias: the biases of q, k, v, o and of the split
// [gate; up] projection.
std::string llama_with_biases() {
  std::string text = kLlama;
  text.insert(text.find("rope_theta"), "qkv_bias = true\nout_bias = true\n");
  return text + "bias = true\n";
}

TEST_CASE("hf: export then import reproduces each architecture exactly", "[hf]") {
  const std::string biased = llama_with_biases();
  const std::vector<std::pair<const char*, const char*>> models = {
      {"LlamaForCausalLM", kLlama}, {"MixtralForCausalLM", kMixtral}, {"MambaForCausalLM", kMamba},
      {"JambaForCausalLM", kJamba}, {"LlamaForCausalLM", biased.c_str()}};
  Generator gen(2);
  const Tensor ids = Tensor::randint({2, 9}, 0, 40, gen);
  for (const auto& [architecture, text] : models) {
    INFO(architecture);
    const fs::path dir = test::fresh_temp_dir("hf", std::string(architecture) + (text == biased.c_str() ? "_bias" : ""));
    const fs::path original = strata_checkpoint(text, dir);
    CHECK(export_hf(original, dir / "hf", test::hybrid_registry(), test::hermetic_options()) == architecture);
    const nlohmann::json config = read_json(dir / "hf" / "config.json");
    CHECK(config["architectures"][0] == architecture);
    const HfImportResult r = import_hf(dir / "hf", dir / "back", test::hybrid_registry(), test::hermetic_options());
    CHECK(r.architecture == architecture);
    CHECK(test::mismatch(logits_of(dir / "back", ids), logits_of(original, ids), 0).empty());
    if (text == biased.c_str()) {
      CHECK(config["attention_bias"] == true);
      CHECK(config["mlp_bias"] == true);
      const safetensors::Reader weights(dir / "hf" / "model.safetensors");
      for (const char* name : {"model.layers.1.self_attn.o_proj.bias", "model.layers.1.mlp.gate_proj.bias",
                               "model.layers.1.mlp.up_proj.bias", "model.layers.1.mlp.down_proj.bias"}) {
        INFO(name);
        CHECK(weights.find(name) != nullptr);
      }
    }
  }
}

TEST_CASE("hf: the exported folder uses Hugging Face's tensor names and shapes", "[hf]") {
  const fs::path dir = test::fresh_temp_dir("hf", "names");
  export_hf(strata_checkpoint(kJamba, dir), dir / "hf", test::hybrid_registry(), test::hermetic_options());
  const safetensors::Reader weights(dir / "hf" / "model.safetensors");
  const auto shape = [&](const std::string& name) {
    const auto* info = weights.find(name);
    INFO(name);
    REQUIRE(info != nullptr);
    return info->shape;
  };
  CHECK(shape("model.embed_tokens.weight") == Shape{40, 16});
  CHECK(shape("model.layers.0.mamba.conv1d.weight") == Shape{32, 1, 4});
  CHECK(shape("model.layers.0.mamba.dt_layernorm.weight") == Shape{2});
  CHECK(shape("model.layers.0.feed_forward.gate_proj.weight") == Shape{12, 16});
  CHECK(shape("model.layers.0.pre_ff_layernorm.weight") == Shape{16});
  CHECK(shape("model.layers.1.self_attn.k_proj.weight") == Shape{8, 16});
  CHECK(shape("model.layers.1.feed_forward.router.weight") == Shape{4, 16});
  CHECK(shape("model.layers.1.feed_forward.experts.3.down_proj.weight") == Shape{16, 12});
  CHECK(shape("model.final_layernorm.weight") == Shape{16});
  CHECK(shape("lm_head.weight") == Shape{40, 16});
  const nlohmann::json config = read_json(dir / "hf" / "config.json");
  CHECK(config["attn_layer_offset"] == 1);
  CHECK(config["mamba_dt_rank"] == 2);
  CHECK(config["num_experts"] == 4);
}

TEST_CASE("hf: import errors name the key, the tensor or the file", "[hf][errors]") {
  SECTION("missing config key") {
    const fs::path hf = llama_folder("missing_key");
    nlohmann::json config = read_json(hf / "config.json");
    config.erase("hidden_size");
    write_json(hf / "config.json", config);
    require_import_error(hf, "missing key \"hidden_size\", which LlamaForCausalLM needs");
  }
  SECTION("unknown architecture") {
    const fs::path hf = llama_folder("unknown_arch");
    nlohmann::json config = read_json(hf / "config.json");
    config["architectures"] = {"GPT2LMHeadModel"};
    write_json(hf / "config.json", config);
    require_import_error(hf, "architecture \"GPT2LMHeadModel\" is not one strata imports");
  }
  SECTION("a setting strata cannot reproduce") {
    const fs::path hf = llama_folder("rope_scaling");
    nlohmann::json config = read_json(hf / "config.json");
    config["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}, {"rope_type", "linear"}};
    config["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
    write_json(hf / "config.json", config);
    require_import_error(hf, "\"rope_scaling\" is set alongside rope_parameters; keep one");
  }
  SECTION("missing tensor") {
    const fs::path hf = llama_folder("missing_tensor");
    const safetensors::Reader reader(hf / "model.safetensors");
    std::vector<std::pair<std::string, Tensor>> kept;
    for (const auto& t : reader.tensors())
      if (t.name != "model.layers.1.mlp.up_proj.weight") kept.emplace_back(t.name, reader.load(t.name));
    safetensors::write(hf / "model.safetensors", kept);
    require_import_error(hf, "missing tensor 'model.layers.1.mlp.up_proj.weight' (needed for strata's layers.1.ffn.up.weight)");
  }
  SECTION("unexpected tensor") {
    const fs::path hf = llama_folder("unexpected_tensor");
    const safetensors::Reader reader(hf / "model.safetensors");
    std::vector<std::pair<std::string, Tensor>> all;
    for (const auto& t : reader.tensors()) all.emplace_back(t.name, reader.load(t.name));
    all.emplace_back("model.layers.0.self_attn.q_norm.weight", Tensor::ones({4}));
    safetensors::write(hf / "model.safetensors", all);
    require_import_error(hf, "tensors strata does not map: model.layers.0.self_attn.q_norm.weight");
  }
  SECTION("shape mismatch") {
    const fs::path hf = llama_folder("shape");
    nlohmann::json config = read_json(hf / "config.json");
    config["intermediate_size"] = 32;
    write_json(hf / "config.json", config);
    require_import_error(hf, "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [24, 16], but config.json implies "
                             "[32, 16]");
  }
  SECTION("truncated safetensors file") {
    const fs::path hf = llama_folder("truncated");
    fs::resize_file(hf / "model.safetensors", fs::file_size(hf / "model.safetensors") - 100);
    require_import_error(hf, "not a valid safetensors file");
  }
  SECTION("corrupt header") {
    const fs::path hf = llama_folder("corrupt");
    {
      std::fstream f(hf / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(8);
      f << "#garbage#";
    }
    require_import_error(hf, "the header is not JSON");
  }
  SECTION("no weights, no config") {
    const fs::path hf = llama_folder("no_weights");
    fs::remove(hf / "model.safetensors");
    require_import_error(hf, "no model.safetensors or model.safetensors.index.json");
    fs::remove(hf / "config.json");
    require_import_error(hf, "config.json: no such file");
  }
  SECTION("a shard index pointing at the wrong file") {
    const fs::path hf = llama_folder("index");
    write_json(hf / "model.safetensors.index.json",
               {{"weight_map", {{"model.embed_tokens.weight", "model.safetensors"},
                                {"lm_head.weight", "model-00002-of-00002.safetensors"}}}});
    require_import_error(hf, "model-00002-of-00002.safetensors: no such file");
  }
}

TEST_CASE("hf: export refuses models without a Hugging Face counterpart", "[hf][errors]") {
  const fs::path dir = test::fresh_temp_dir("hf", "not_exportable");
  std::string gelu = kLlama;
  gelu += "activation = \"gelu\"\n";
  const fs::path checkpoint = strata_checkpoint(gelu, dir);
  CHECK_THROWS_WITH(export_hf(checkpoint, dir / "hf", test::hybrid_registry(), test::hermetic_options()),
                    Catch::Contains("must use activation = swiglu"));
  std::string interleaved = kLlama;
  interleaved.insert(interleaved.find("rope_theta"), "rope_interleaved = true\n");
  CHECK_THROWS_WITH(export_hf(strata_checkpoint(interleaved, test::fresh_temp_dir("hf", "interleaved")), dir / "hf2", test::hybrid_registry(),
                              test::hermetic_options()),
                    Catch::Contains("rope_interleaved = false"));
}

TEST_CASE("hf: transformers 5's rope_parameters give the same model as transformers 4's rope_theta", "[hf]") {
  const fs::path hf = llama_folder("rope_parameters");
  Generator gen(3);
  const Tensor ids = Tensor::randint({1, 7}, 0, 40, gen);
  nlohmann::json config = read_json(hf / "config.json");
  config["rope_theta"] = 500000.0;
  write_json(hf / "config.json", config);
  import_hf(hf, hf.parent_path() / "v4", test::hybrid_registry(), test::hermetic_options());

  config.erase("rope_theta");
  config["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  write_json(hf / "config.json", config);
  import_hf(hf, hf.parent_path() / "v5", test::hybrid_registry(), test::hermetic_options());
  const Tensor v5 = logits_of(hf.parent_path() / "v5", ids);
  CHECK(test::mismatch(v5, logits_of(hf.parent_path() / "v4", ids), 0).empty());
  // And the base is read, not defaulted: 10000 gives other logits.
  config["rope_parameters"]["rope_theta"] = 10000.0;
  write_json(hf / "config.json", config);
  import_hf(hf, hf.parent_path() / "v5_default", test::hybrid_registry(), test::hermetic_options());
  CHECK_FALSE(test::mismatch(v5, logits_of(hf.parent_path() / "v5_default", ids), 1e-6).empty());

  config["rope_parameters"] = {{"rope_type", "proportional"}, {"rope_theta", 10000.0}, {"factor", 4.0}};
  write_json(hf / "config.json", config);
  require_import_error(hf, "\"rope_parameters.rope_type\" is \"proportional\"; strata's RoPE scales as linear, "
                           "dynamic, yarn, llama3 or longrope");
}

// Every key that transformers' config classes define (their defaults, dumped once per
// transformers version by tests/fixtures/hf/dump_config_defaults.py) is read, refused or
// declared irrelevant by some mapping: importing each default config must not meet a key
// nobody classified.
TEST_CASE("hf: every config.json key transformers 4 and 5 define is classified", "[hf]") {
  for (const char* version : {"transformers4.json", "transformers5.json"}) {
    const nlohmann::json fixture = read_json(fs::path(STRATA_HF_FIXTURES_DIR) / "config_defaults" / version);
    REQUIRE(fixture["configs"].size() == 9);
    for (const auto& [architecture, config] : fixture["configs"].items()) {
      INFO(version << " " << architecture << " (transformers " << fixture["transformers"].get<std::string>() << ")");
      const fs::path dir = test::fresh_temp_dir("hf_keys", std::string(version) + "_" + architecture);
      write_json(dir / "config.json", config);
      std::string imported_as;
      std::string toml;
      CHECK_NOTHROW(toml = hf_config_to_toml(dir / "config.json", test::hybrid_registry(), &imported_as));
      CHECK(imported_as == architecture);
    }
  }
}

TEST_CASE("hf: a config.json key nobody classified is refused by name, not ignored", "[hf][errors]") {
  const fs::path dir = test::fresh_temp_dir("hf_keys", "unknown");
  const auto import_with = [&](const std::function<void(nlohmann::json&)>& change) -> std::string {
    nlohmann::json config = read_json(fs::path(STRATA_HF_FIXTURES_DIR) / "mixtral" / "config.json");
    change(config);
    write_json(dir / "config.json", config);
    try {
      hf_config_to_toml(dir / "config.json", test::hybrid_registry());
    } catch (const FileFormatError& e) {
      return e.what();
    }
    return "";
  };
  CHECK(import_with([](nlohmann::json&) {}).empty());  // the fixture itself imports
  CHECK_THAT(import_with([](nlohmann::json& c) { c["attention_sink_size"] = 4; }),
             Catch::Contains("\"attention_sink_size\" is a key that strata's import of MixtralForCausalLM does not "
                             "know; it could change the model, so the import stops rather than ignore it"));
  CHECK_THAT(import_with([](nlohmann::json& c) {
               c["new_a"] = 1;
               c["new_b"] = nullptr;  // null or not, an unknown key is refused
             }),
             Catch::Contains("\"new_a\", \"new_b\" are keys"));
  // Known keys whose value strata cannot reproduce are refused with the reason.
  CHECK_THAT(import_with([](nlohmann::json& c) { c["router_jitter_noise"] = 0.01; }),
             Catch::Contains("\"router_jitter_noise\" is not 0"));
  CHECK_THAT(import_with([](nlohmann::json& c) { c["quantization_config"] = {{"quant_method", "gptq"}}; }),
             Catch::Contains("\"quantization_config\" is set: the weights are quantized"));
  CHECK_THAT(import_with([](nlohmann::json& c) { c["pruned_heads"] = {{"0", {1, 2}}}; }),
             Catch::Contains("\"pruned_heads\" lists pruned attention heads"));
  // Inside an object a mapping reads, an unknown key is refused with its dotted path.
  CHECK_THAT(import_with([](nlohmann::json& c) {
               c.erase("rope_theta");
               c["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}, {"partial_rotary_factor", 0.5}};
             }),
             Catch::Contains("\"rope_parameters.partial_rotary_factor\" is a key"));
  // Irrelevant keys are accepted whatever their value.
  CHECK(import_with([](nlohmann::json& c) {
          c["attention_dropout"] = 0.1;
          c["bos_token_id"] = 7;
          c["use_cache"] = false;
        }).empty());
}

TEST_CASE("hf: Mamba-2's step limit, in either transformers' encoding of infinity, becomes the dt clamp", "[hf]") {
  const fs::path dir = test::fresh_temp_dir("hf_keys", "mamba2_limit");
  const fs::path fixture = fs::path(STRATA_HF_FIXTURES_DIR) / "architectures" / "transformers5_mamba2" / "config.json";
  std::string text = test::file_bytes(fixture);
  // transformers 5 writes inf as {"__float__": "Infinity"}; transformers 4 as a bare Infinity
  const std::string tf5_limit = R"([
    0.0,
    {
      "__float__": "Infinity"
    }
  ])";
  REQUIRE(text.find(tf5_limit) != std::string::npos);
  const auto import_with = [&](const std::string& limit) {
    std::string changed = text;
    changed.replace(changed.find(tf5_limit), tf5_limit.size(), limit);
    std::ofstream(dir / "config.json") << changed;
    return hf_config_to_toml(dir / "config.json", test::hybrid_registry());
  };
  for (const char* open_ended : {"[0.0, Infinity]", "[0.0, {\"__float__\": \"Infinity\"}]"}) {
    const std::string toml = import_with(open_ended);
    CHECK(toml.find("dt_limit") == std::string::npos);
  }
  const std::string clamped = import_with("[0.01, 0.05]");
  CHECK(clamped.find("dt_limit_min = 0.01") != std::string::npos);
  CHECK(clamped.find("dt_limit_max = 0.05") != std::string::npos);
  CHECK_THROWS_WITH(import_with("[0.05, 0.01]"), Catch::Contains("time_step_limit"));
}
