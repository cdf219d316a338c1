// Models made by the transformers library (tests/fixtures/hf, made by its
// make_fixtures.py): after import-hf, strata's logits equal transformers' within 1e-4 for
// Llama (sharded), Mixtral, Mamba and Jamba, and decoding the imported model token by token
// gives the same logits as its forward.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "jamba/hybrid_registry.h"
#include "plugin_registry.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/hf.h"
#include "strata/ops.h"
#include "strata/safetensors.h"

using namespace strata;
namespace fs = std::filesystem;

TEST_CASE("hf fixtures: imported models reproduce transformers' logits", "[hf][fixtures]") {
  for (const char* name : {"llama", "mixtral", "mamba", "jamba"}) {
    INFO(name);
    const fs::path folder = fs::path(STRATA_HF_FIXTURES_DIR) / name;
    const fs::path out = test::fresh_temp_dir("hf_fixture", name);
    import_hf(folder, out, test::hybrid_registry(), test::hermetic_options());
    LoadedCheckpoint c = load_checkpoint(out, test::hermetic_options(), test::hybrid_registry());
    const safetensors::Reader expected(folder / "expected.safetensors");
    const Tensor ids = expected.load("input_ids");
    const Tensor want = expected.load("logits");
    autograd::NoGradGuard no_grad;
    c.model->train(false);
    StepContext ctx(false);
    const Tensor logits = c.model->forward(ids, ctx);
    STRATA_REQUIRE_CLOSE(logits, want, 1e-4, 0);

    // Decoding through the layers' caches: the prompt's first 5 tokens, then one at a time.
    DecodeState state = c.model->make_decode_state(ids.size(0));
    std::vector<Tensor> pieces{c.model->forward_step(ids.slice(1, 0, 5), state, ctx)};
    for (std::int64_t t = 5; t < ids.size(1); ++t) pieces.push_back(c.model->forward_step(ids.slice(1, t, t + 1), state, ctx));
    STRATA_REQUIRE_CLOSE(concat(pieces, 1), logits, 1e-4, 0);
  }
}

namespace {

// Imports a fixture folder (config.json, weights, expected.safetensors), requires its logits
// within 1e-4 of transformers', and returns the checkpoint and the ids and logits.
struct ImportedFixture {
  LoadedCheckpoint checkpoint;
  Tensor ids, logits;
  fs::path out;
};
ImportedFixture import_fixture(const fs::path& folder, const std::string& name) {
  const fs::path out = test::fresh_temp_dir("hf_fixture_more", name);
  import_hf(folder, out, test::hybrid_registry(), test::hermetic_options());
  LoadedCheckpoint c = load_checkpoint(out, test::hermetic_options(), test::hybrid_registry());
  const safetensors::Reader expected(folder / "expected.safetensors");
  const Tensor ids = expected.load("input_ids");
  autograd::NoGradGuard no_grad;
  c.model->train(false);
  StepContext ctx(false);
  const Tensor logits = c.model->forward(ids, ctx);
  STRATA_REQUIRE_CLOSE(logits, expected.load("logits"), 1e-4, 0);
  return {std::move(c), ids, logits, out};
}

// Token-by-token decoding of `ids` through the model's caches.
Tensor decode_each_token(Model& model, const Tensor& ids) {
  autograd::NoGradGuard no_grad;
  StepContext ctx(false);
  DecodeState state = model.make_decode_state(ids.size(0));
  std::vector<Tensor> pieces;
  for (std::int64_t t = 0; t < ids.size(1); ++t) pieces.push_back(model.forward_step(ids.slice(1, t, t + 1), state, ctx));
  return concat(pieces, 1);
}

// Export, then import again: the same logits.
void require_round_trip(const ImportedFixture& f) {
  export_hf(f.out, f.out / "hf", test::hybrid_registry(), test::hermetic_options());
  import_hf(f.out / "hf", f.out / "again", test::hybrid_registry(), test::hermetic_options());
  LoadedCheckpoint again = load_checkpoint(f.out / "again", test::hermetic_options(), test::hybrid_registry());
  autograd::NoGradGuard no_grad;
  again.model->train(false);
  StepContext ctx(false);
  STRATA_REQUIRE_CLOSE(again.model->forward(f.ids, ctx), f.logits, 1e-6, 0);
}

}  // namespace

// Llama with each RoPE scaling, configs as transformers 4.57 and 5.24 write them
// (tests/fixtures/hf/make_rope_fixtures.py): logits over 40 tokens, 24 of them past the
// original context of 16, where the scalings differ from plain RoPE by 0.4-0.7.
TEST_CASE("hf fixtures: RoPE scaling reproduces transformers' logits beyond the original context",
          "[hf][fixtures][rope]") {
  for (const char* version : {"transformers4", "transformers5"})
    for (const char* scaling : {"linear", "dynamic", "yarn", "llama3", "longrope"}) {
      const std::string name = std::string(version) + "_" + scaling;
      INFO(name);
      ImportedFixture f = import_fixture(fs::path(STRATA_HF_FIXTURES_DIR) / "rope_scaling" / name, name);
      CHECK(f.checkpoint.experiment.model.component("mixer").string("rope_scaling") == scaling);
      // Decoding: one forward per token. Where the frequencies do not depend on the length
      // (linear, yarn, llama3) it equals the full forward. dynamic and longrope choose their
      // frequencies by the forward's length, as transformers does: a 40-token forward rotates
      // every position with the long-context frequencies, a decoding step with those of its
      // own length; so decoding equals the forward of the first 16 tokens (the threshold).
      const Tensor decoded = decode_each_token(*f.checkpoint.model, f.ids);
      if (std::string(scaling) == "dynamic" || std::string(scaling) == "longrope") {
        autograd::NoGradGuard no_grad;
        StepContext ctx(false);
        const Tensor prefix = f.ids.slice(1, 0, 16).contiguous();
        STRATA_REQUIRE_CLOSE(decoded.slice(1, 0, 16), f.checkpoint.model->forward(prefix, ctx), 1e-4, 0);
      } else {
        STRATA_REQUIRE_CLOSE(decoded, f.logits, 1e-4, 0);
      }
      // Export writes the scaling back (transformers 4's layout), and it imports to the same model.
      require_round_trip(f);
      const std::string config = test::file_bytes(f.out / "hf" / "config.json");
      CHECK(config.find(std::string("\"rope_type\": \"") + scaling + "\"") != std::string::npos);
    }
}

// Mistral (a sliding window of 5 over 12 tokens), Qwen2 (q, k, v biases, tied embeddings),
// Qwen3 (q and k head norms), Qwen3-MoE, the first four architectures again (Mixtral,
// Llama with biases, Mamba, Jamba), Mamba-2 (grouped B and C, chunked SSD in
// transformers), Bamba (Mamba-2 and half-rotary attention at listed layers) and
// GraniteMoeHybrid (Mamba-2, attention, MoE with a shared expert, Granite's multipliers), each saved by transformers 4.57 and by 5.24
// (tests/fixtures/hf/make_arch_fixtures.py).
TEST_CASE("hf fixtures: every architecture from transformers 4 and 5", "[hf][fixtures]") {
  for (const char* version : {"transformers4", "transformers5"})
    for (const auto& [arch, expected_class] : {std::pair{"mistral", "MistralForCausalLM"}, std::pair{"qwen2", "Qwen2ForCausalLM"},
                                               std::pair{"qwen3", "Qwen3ForCausalLM"},
                                               std::pair{"qwen3_moe", "Qwen3MoeForCausalLM"},
                                               std::pair{"mixtral", "MixtralForCausalLM"},
                                               std::pair{"llama", "LlamaForCausalLM"},
                                               std::pair{"mamba", "MambaForCausalLM"},
                                               std::pair{"jamba", "JambaForCausalLM"},
                                               std::pair{"mamba2", "Mamba2ForCausalLM"},
                                               std::pair{"bamba", "BambaForCausalLM"},
                                               std::pair{"granitemoehybrid", "GraniteMoeHybridForCausalLM"},
                                               std::pair{"qwen3_next", "Qwen3NextForCausalLM"}}) {
      const std::string name = std::string(version) + "_" + arch;
      INFO(name);
      ImportedFixture f = import_fixture(fs::path(STRATA_HF_FIXTURES_DIR) / "architectures" / name, name);
      const Config& mixer = f.checkpoint.experiment.model.component("mixer");
      if (std::string(arch) == "mistral") CHECK(mixer.integer("window") == 5);
      if (std::string(arch) == "qwen2") CHECK((mixer.boolean("qkv_bias") && !mixer.boolean("out_bias")));
      if (std::string(arch) == "qwen3") CHECK(mixer.boolean("qk_norm"));
      if (std::string(arch) == "bamba" || std::string(arch) == "granitemoehybrid") {
        std::vector<std::string> types;
        for (const LayerPlan& l : f.checkpoint.model->plan()) types.push_back(l.mixer_type);
        CHECK(types == std::vector<std::string>{"mamba2", "attention", "mamba2", "attention"});
      }
      if (std::string(arch) == "qwen3_next") {
        std::vector<std::string> types;
        for (const LayerPlan& l : f.checkpoint.model->plan()) types.push_back(l.mixer_type + "+" + l.ffn_type);
        CHECK(types == std::vector<std::string>{"gated_deltanet+moe", "attention+moe", "gated_deltanet+moe",
                                                "attention+moe"});
      }
      STRATA_REQUIRE_CLOSE(decode_each_token(*f.checkpoint.model, f.ids), f.logits, 1e-4, 0);
      // Export chooses the architecture that expresses the model: a window is Mistral's,
      // q/k/v biases without an o bias Qwen2's.
      require_round_trip(f);
      CHECK(test::file_bytes(f.out / "hf" / "config.json").find(std::string("\"") + expected_class + "\"") !=
            std::string::npos);
    }
}

// Qwen3-Next's published config.json gives full_attention_interval instead of layer_types:
// the same layer plan (here every 2nd layer, as the fixture's layer_types), the same logits.
// A dense layer (decoder_sparse_step 2) is refused, naming the key.
TEST_CASE("hf: Qwen3-Next's full_attention_interval gives the layer plan, dense layers are refused", "[hf][fixtures]") {
  const fs::path fixture = fs::path(STRATA_HF_FIXTURES_DIR) / "architectures" / "transformers4_qwen3_next";
  const fs::path dir = test::fresh_temp_dir("hf_qwen3_next", "interval");
  fs::copy(fixture, dir / "in");
  std::string config = test::file_bytes(dir / "in" / "config.json");
  const std::size_t from = config.find("\"layer_types\"");
  REQUIRE(from != std::string::npos);
  const std::size_t to = config.find("],", from) + 2;
  config.replace(from, to - from, "\"full_attention_interval\": 2,");
  test::write_file(dir / "in" / "config.json", config);
  import_hf(dir / "in", dir / "ckpt", test::hybrid_registry(), test::hermetic_options());
  LoadedCheckpoint c = load_checkpoint(dir / "ckpt", test::hermetic_options(), test::hybrid_registry());
  std::vector<std::string> types;
  for (const LayerPlan& l : c.model->plan()) types.push_back(l.mixer_type);
  CHECK(types == std::vector<std::string>{"gated_deltanet", "attention", "gated_deltanet", "attention"});
  const safetensors::Reader expected(fixture / "expected.safetensors");
  autograd::NoGradGuard no_grad;
  c.model->train(false);
  StepContext ctx(false);
  STRATA_REQUIRE_CLOSE(c.model->forward(expected.load("input_ids"), ctx), expected.load("logits"), 1e-4, 0);

  const std::string step = "\"decoder_sparse_step\": 1";
  REQUIRE(config.find(step) != std::string::npos);
  config.replace(config.find(step), step.size(), "\"decoder_sparse_step\": 2");
  test::write_file(dir / "in" / "config.json", config);
  CHECK_THROWS_WITH(import_hf(dir / "in", dir / "dense", test::hybrid_registry(), test::hermetic_options()),
                    Catch::Contains("decoder_sparse_step") && Catch::Contains("dense mlp"));
}

// Granite-4.0-H's attention has no positional encoding (position_embedding_type "nope"):
// the import gives positions = "none" (RoPE's keys are then irrelevant), and the export
// writes "nope" back. A model with Granite's multipliers has no other counterpart.
TEST_CASE("hf: GraniteMoeHybrid without RoPE and Granite multipliers export only as Granite", "[hf][fixtures]") {
  const fs::path fixture = fs::path(STRATA_HF_FIXTURES_DIR) / "architectures" / "transformers5_granitemoehybrid";
  const fs::path dir = test::fresh_temp_dir("hf_granite", "nope");
  fs::copy(fixture, dir / "in");
  std::string config = test::file_bytes(dir / "in" / "config.json");
  const std::string rope = "\"position_embedding_type\": \"rope\"";
  REQUIRE(config.find(rope) != std::string::npos);
  config.replace(config.find(rope), rope.size(), "\"position_embedding_type\": \"nope\"");
  test::write_file(dir / "in" / "config.json", config);
  import_hf(dir / "in", dir / "ckpt", test::hybrid_registry(), test::hermetic_options());
  const LoadedCheckpoint c = load_checkpoint(dir / "ckpt", test::hermetic_options(), test::hybrid_registry());
  for (const Config& mixer : c.experiment.model.components("mixer"))
    if (mixer.type() == "attention") CHECK(mixer.string("positions") == "none");
  export_hf(dir / "ckpt", dir / "out", test::hybrid_registry(), test::hermetic_options());
  CHECK(test::file_bytes(dir / "out" / "config.json").find("\"nope\"") != std::string::npos);

  // A Llama-like model with a residual multiplier: refused, naming Granite.
  const fs::path llama = fs::path(STRATA_HF_FIXTURES_DIR) / "architectures" / "transformers5_llama";
  import_hf(llama, dir / "llama", test::hybrid_registry(), test::hermetic_options());
  std::string experiment = test::file_bytes(dir / "llama" / "experiment.toml");
  experiment.replace(experiment.find("[model]\n"), 8, "[model]\nblock = { type = \"prenorm\", residual_multiplier = 0.5 }\n");
  test::write_file(dir / "llama" / "experiment.toml", experiment);
  CheckpointChecks edited;
  edited.allow_unverified = true;  // experiment.toml was changed after its manifest was written
  CHECK_THROWS_WITH(export_hf(dir / "llama", dir / "llama_out", test::hybrid_registry(), test::hermetic_options(), edited),
                    Catch::Contains("GraniteMoeHybridForCausalLM has them"));
}

// Published checkpoints are bf16: the import keeps them bf16 (the model is built and
// written at 2 bytes per parameter, filled one tensor at a time) and gives the model that
// the same values stored as f32 give.
TEST_CASE("hf import and export: bf16 weights stay bf16 and define the same model as their f32 values",
          "[hf][fixtures]") {
  for (const char* name : {"llama", "mixtral", "mamba", "jamba"}) {
    INFO(name);
    const fs::path fixture = fs::path(STRATA_HF_FIXTURES_DIR) / name;
    const fs::path dir = test::fresh_temp_dir("hf_bf16", name);
    std::vector<std::pair<std::string, Tensor>> bf16, rounded;
    for (const fs::directory_entry& file : fs::directory_iterator(fixture)) {
      if (file.path().extension() != ".safetensors" || file.path().filename() == "expected.safetensors") continue;
      const safetensors::Reader reader(file.path());
      for (const auto& t : reader.tensors()) {
        const Tensor value = reader.load(t.name).to(DType::bf16);
        bf16.emplace_back(t.name, value);
        rounded.emplace_back(t.name, value.to(DType::f32));
      }
    }
    for (const auto& [folder, tensors] : {std::pair{"bf16", &bf16}, std::pair{"f32", &rounded}}) {
      fs::create_directories(dir / folder);
      fs::copy_file(fixture / "config.json", dir / folder / "config.json");
      safetensors::write(dir / folder / "model.safetensors", *tensors, {{"format", "pt"}});
      import_hf(dir / folder, dir / (std::string(folder) + "_ckpt"), test::hybrid_registry(), test::hermetic_options());
    }
    const safetensors::Reader written(dir / "bf16_ckpt" / "model.safetensors");
    for (const auto& t : written.tensors()) CHECK(t.dtype == "BF16");
    const safetensors::Reader expected(fixture / "expected.safetensors");
    const Tensor ids = expected.load("input_ids");
    autograd::NoGradGuard no_grad;
    std::vector<Tensor> logits;
    for (const char* ckpt : {"bf16_ckpt", "f32_ckpt"}) {
      LoadedCheckpoint c = load_checkpoint(dir / ckpt, test::hermetic_options(), test::hybrid_registry());
      c.model->train(false);
      StepContext ctx(false);
      logits.push_back(c.model->forward(ids, ctx));
    }
    STRATA_REQUIRE_CLOSE(logits[0], logits[1], 0, 0);
    // and those are transformers' logits up to the bf16 rounding of the weights
    STRATA_REQUIRE_CLOSE(logits[0], expected.load("logits"), 0.05, 0);

    // Export keeps bf16 (the tensors made one at a time as they are written), and the
    // exported folder imports to the same model.
    export_hf(dir / "bf16_ckpt", dir / "bf16_hf", test::hybrid_registry(), test::hermetic_options());
    const safetensors::Reader exported(dir / "bf16_hf" / "model.safetensors");
    for (const auto& t : exported.tensors()) CHECK(t.dtype == "BF16");
    import_hf(dir / "bf16_hf", dir / "again_ckpt", test::hybrid_registry(), test::hermetic_options());
    LoadedCheckpoint again = load_checkpoint(dir / "again_ckpt", test::hermetic_options(), test::hybrid_registry());
    again.model->train(false);
    StepContext ctx(false);
    STRATA_REQUIRE_CLOSE(again.model->forward(ids, ctx), logits[0], 0, 0);
  }
}

namespace {

// A copy of fixture `name` to change.
fs::path fixture_copy(const std::string& name, const std::string& as) {
  const fs::path out = test::fresh_temp_dir("hf_refusal", as);
  fs::copy(fs::path(STRATA_HF_FIXTURES_DIR) / name, out, fs::copy_options::recursive);
  return out;
}

void replace_in_file(const fs::path& file, const std::string& from, const std::string& to) {
  std::string text = test::file_bytes(file);
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text.substr(0, at) << to << text.substr(at + from.size());
}

}  // namespace

TEST_CASE("hf import: shard paths stay in the model folder, weights are floating point and finite",
          "[hf][errors]") {
  auto& registry = test::hybrid_registry();
  const auto import = [&](const fs::path& folder) {
    import_hf(folder, folder.parent_path() / (folder.filename().string() + "_out"), registry, test::hermetic_options());
  };
  const std::string shard = "model-00004-of-00004.safetensors";
  {
    const fs::path folder = fixture_copy("llama", "dotdot");
    // a real file, outside the folder
    fs::copy_file(folder / shard, folder.parent_path() / shard, fs::copy_options::overwrite_existing);
    replace_in_file(folder / "model.safetensors.index.json", "\"" + shard + "\"", "\"../" + shard + "\"");
    CHECK_THROWS_WITH(import(folder), Catch::Contains("names \"../" + shard + "\", which leads out of the model folder"));
  }
  {
    const fs::path folder = fixture_copy("llama", "absolute");
    const std::string absolute = std::string("\"").append((folder / shard).string()).append("\"");
    replace_in_file(folder / "model.safetensors.index.json", "\"" + shard + "\"", absolute);
    CHECK_THROWS_WITH(import(folder), Catch::Contains("which is not a relative file name"));
  }
  {
    const fs::path folder = fixture_copy("llama", "symlink");
    fs::copy_file(folder / shard, folder.parent_path() / shard, fs::copy_options::overwrite_existing);
    fs::create_symlink(folder.parent_path() / shard, folder / "linked.safetensors");
    replace_in_file(folder / "model.safetensors.index.json", "\"" + shard + "\"", "\"linked.safetensors\"");
    CHECK_THROWS_WITH(import(folder), Catch::Contains("which a symbolic link leads out of the model folder"));
  }
  {
    const fs::path folder = fixture_copy("mamba", "relabelled");
    replace_in_file(folder / "model.safetensors", "\"F32\"", "\"I32\"");  // same size: the header still parses
    CHECK_THROWS_WITH(import(folder), Catch::Contains("has dtype I32; model weights are floating point"));
  }
  {
    const fs::path folder = fixture_copy("mamba", "nan");
    const safetensors::Reader reader(folder / "model.safetensors");
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const auto& info : reader.tensors()) tensors.emplace_back(info.name, reader.load(info.name));
    tensors.back().second.data<float>()[0] = NAN;
    const std::string poisoned = tensors.back().first;
    safetensors::write(folder / "model.safetensors", tensors, {{"format", "pt"}});
    CHECK_THROWS_WITH(import(folder), Catch::Contains("tensor '" + poisoned + "' holds NaN or infinite values"));
  }
}
