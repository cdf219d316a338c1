// A hybrid model (attention + Mamba + MoE) from the outside: the analytic plan against
// the built model, decode-cache bytes, generation through the hybrid cache against the
// full forward, sampling rules, and checkpoints (round trip and every mismatch an error).
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "jamba/hybrid_registry.h"
#include "plugin_registry.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/safetensors.h"
#include "strata/experiment.h"
#include "strata/generate.h"
#include "strata/model_plan.h"
#include "strata/ops.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

// Attention every 4th layer (offset 1), MoE every other layer; the keys vary per section.
std::string hybrid_text(const std::string& model_keys = "", const std::string& attention_keys = "",
                        const std::string& mamba_keys = "", const std::string& mlp_keys = "",
                        const std::string& moe_keys = "") {
  return "[task]\ntype = \"copy\"\nn_symbols = 6\ncopy_len = 4\n"
         "[model]\nd_model = 16\nn_layers = 4\ninit_std = 0.5\n" +
         model_keys +
         "\n[model.stack]\ntype = \"jamba\"\nattn_layer_period = 4\nattn_layer_offset = 1\n"
         "[model.mixer.attention]\ntype = \"attention\"\nn_heads = 4\n" +
         attention_keys + "\n[model.mixer.mamba]\ntype = \"mamba\"\nd_state = 4\n" + mamba_keys +
         "\n[model.ffn.mlp]\ntype = \"mlp\"\nd_ff = 24\n" + mlp_keys +
         "\n[model.ffn.moe]\ntype = \"moe\"\nn_experts = 4\ntop_k = 2\nd_ff = 12\n" + moe_keys + "\n";
}

Experiment load(const std::string& text) {
  return Experiment::from_string(text, "hybrid.toml", test::hermetic_options(), test::hybrid_registry());
}

Tensor full_logits(Model& model, const Tensor& ids) {
  autograd::NoGradGuard no_grad;
  StepContext ctx(false);
  return model.forward(ids, ctx);
}

}  // namespace

TEST_CASE("plan: analytic parameter counts equal the built model's", "[plan]") {
  struct Variant {
    const char* name;
    std::string text;
  };
  const std::vector<Variant> variants = {
      {"defaults", hybrid_text()},
      {"GQA, window, biases, partial rope; untied layernorm model",
       hybrid_text("tie_embeddings = false\nnorm = \"layernorm\"", "n_kv_heads = 2\nwindow = 5\nqkv_bias = true\n"
                   "out_bias = true\nrope_fraction = 0.5")},
      {"mamba with inner norms, projection biases, no conv bias, explicit d_inner and dt_rank", hybrid_text("", "",
       "inner_norms = true\nproj_bias = true\nconv_bias = false\nd_inner = 40\ndt_rank = 3")},
      {"non-selective mamba (constant dt, B, C)", hybrid_text("", "", "selective = false")},
      {"gelu mlp with biases; moe with a shared expert and a noisy router", hybrid_text("", "", "",
       "activation = \"gelu\"\nbias = true", "n_shared_experts = 1\nrouter = { type = \"noisy_topk\" }")},
      {"moe with two shared experts of their own width (shared_d_ff)",
       hybrid_text("", "", "", "", "n_shared_experts = 2\nshared_d_ff = 20")},
      {"fused qkv, no positions; gelu experts, aux-free bias", hybrid_text("", "fused_qkv = true\npositions = \"none\"",
       "", "", "activation = \"gelu\"\nbalance = [{ type = \"aux_free_bias\" }]")},
  };
  for (const Variant& v : variants) {
    INFO(v.name);
    const Experiment e = load(v.text);
    const ModelPlan plan = plan_model(e, test::hybrid_registry(), {});
    const auto built = build_experiment(e, test::hybrid_registry());
    REQUIRE(plan.layers.size() == built.model->plan().size());
    CHECK_FALSE(plan.estimated);
    std::int64_t unused_expert_params = 0;
    for (std::size_t i = 0; i < plan.layers.size(); ++i) {
      INFO("layer " << i);
      CHECK(plan.layers[i].mixer_type == built.model->plan()[i].mixer_type);
      CHECK(plan.layers[i].mixer.params == built.model->plan()[i].mixer_params);
      CHECK(plan.layers[i].ffn.params == built.model->plan()[i].ffn_params);
    }
    // Active = total minus the (E - k) / E share of the routed expert tensors, counted
    // here from the built model's named parameters.
    for (const auto& p : built.model->named_parameters())
      if (p.name.find(".ffn.experts.") != std::string::npos) unused_expert_params += p.tensor.numel() / 4 * 2;
    CHECK(plan.params_total == built.model->num_parameters());
    CHECK(plan.params_active == built.model->num_parameters() - unused_expert_params);
  }
}

TEST_CASE("plan: cache bytes equal the decode state after a prompt and FLOPs grow with the context", "[plan]") {
  const Experiment e = load(hybrid_text("", "n_kv_heads = 2"));
  const std::int64_t T = 40;
  const ModelPlan plan = plan_model(e, test::hybrid_registry(), {T, "f32"});
  const ModelPlan plan64 = plan_model(e, test::hybrid_registry(), {T, "f64"});
  const ModelPlan bf16 = plan_model(e, test::hybrid_registry(), {T, "bf16"});
  const auto built = build_experiment(e, test::hybrid_registry());
  Generator gen(1);
  DecodeState state = built.model->make_decode_state(1);
  {
    autograd::NoGradGuard no_grad;
    StepContext ctx(false);
    built.model->forward_step(Tensor::randint({1, T}, 0, 6, gen), state, ctx);
  }
  const auto by_type = cache_bytes_by_mixer(*built.model, state);
  CHECK(std::int64_t(by_type.at("attention")) == plan.mixer_types.at("attention").cache_bytes);
  CHECK(std::int64_t(by_type.at("mamba")) == plan.mixer_types.at("mamba").cache_bytes);
  CHECK(std::int64_t(state.size_bytes()) == plan.cache_bytes);
  CHECK(plan64.cache_bytes == 2 * plan.cache_bytes);
  CHECK(2 * bf16.cache_bytes == plan.cache_bytes);
  // One attention layer, 4 heads of 4 channels, 2 KV heads: 2 (K and V) x 2 x 4 x T x 4 bytes.
  CHECK(plan.mixer_types.at("attention").cache_bytes == 2 * 2 * 4 * T * 4);
  // Only attention's score and value products grow with the context: 4 * Hq * hd per key.
  const ModelPlan longer = plan_model(e, test::hybrid_registry(), {T + 10, "f32"});
  CHECK(longer.flops_per_token - plan.flops_per_token == Approx(4.0 * 16 * 10));
  CHECK_THROWS_AS(plan_model(e, test::hybrid_registry(), {T, "f8"}), ValueError);
  const std::string json = plan.to_json();
  for (const char* key : {"\"params_total\"", "\"params_active\"", "\"cache_bytes\"", "\"flops_per_token\""})
    CHECK(json.find(key) != std::string::npos);
}

TEST_CASE("generate: greedy decoding through the hybrid cache equals argmax of the full forward", "[generate]") {
  const Experiment e = load(hybrid_text("", "n_kv_heads = 2", "inner_norms = true"));
  auto built = build_experiment(e, test::hybrid_registry());
  Model& model = *built.model;
  const Tensor prompt = Tensor::from_vector(std::vector<std::int64_t>{1, 4, 2, 5, 0, 3, 3, 1}, {2, 4});
  GenerateOptions options;
  options.max_new_tokens = 12;
  Generator gen(0);
  const GenerateResult r = generate(model, prompt, options, gen);
  REQUIRE(r.tokens.size() == 2);
  for (std::int64_t b = 0; b < 2; ++b) {
    std::vector<std::int64_t> sequence = prompt.slice(0, b, b + 1).contiguous().to_vector<std::int64_t>();
    for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
      const std::int64_t T = std::int64_t(sequence.size());
      const Tensor logits = full_logits(model, Tensor::from_vector(sequence, {1, T})).contiguous();
      const auto last = logits.slice(1, T - 1, T).contiguous().to_vector<float>();
      const std::int64_t expected = std::max_element(last.begin(), last.end()) - last.begin();
      INFO("sequence " << b << ", step " << step);
      REQUIRE(r.tokens[b][step] == expected);
      sequence.push_back(expected);
    }
  }
  CHECK(r.cache_bytes_by_mixer.count("attention") == 1);
  CHECK(r.cache_bytes_by_mixer.count("mamba") == 1);
  CHECK(r.cache_bytes == r.cache_bytes_by_mixer.at("attention") + r.cache_bytes_by_mixer.at("mamba"));
  CHECK(model.training());  // restored

  // A stop token ends a sequence; bad prompts are errors.
  options.stop_token = r.tokens[0][2];
  const GenerateResult stopped = generate(model, prompt, options, gen);
  CHECK(stopped.tokens[0].size() <= 3);
  CHECK(stopped.tokens[0].back() == options.stop_token);
  CHECK_THROWS_AS(generate(model, Tensor::from_vector(std::vector<std::int64_t>{1, 99}, {1, 2}), options, gen),
                  ValueError);
  CHECK_THROWS_AS(generate(model, Tensor::zeros({2}, DType::i64), options, gen), ShapeError);
}

TEST_CASE("sampling: temperature, top-k and top-p follow their definitions", "[generate]") {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, -1.0f, 0.0f};
  Generator gen(7);
  SamplingOptions greedy;
  CHECK(sample_token(logits, greedy, gen) == 0);
  SamplingOptions t1;
  t1.temperature = 1.0;
  std::vector<int> counts(5, 0);
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++counts[sample_token(logits, t1, gen)];
  double z = 0;
  for (float l : logits) z += std::exp(double(l));
  for (int v = 0; v < 5; ++v) {
    const double p = std::exp(double(logits[v])) / z;
    INFO("token " << v);
    CHECK(std::abs(counts[v] / double(n) - p) < 5 * std::sqrt(p * (1 - p) / n) + 1e-3);
  }
  SamplingOptions k2 = t1;
  k2.top_k = 2;
  for (int i = 0; i < 2000; ++i) CHECK(sample_token(logits, k2, gen) <= 1);
  // top_p = 0.6: p(0) = 0.53 alone is short of 0.6, so tokens 0 and 1 (0.73) stay.
  SamplingOptions p6 = t1;
  p6.top_p = 0.6;
  std::vector<int> nucleus(5, 0);
  for (int i = 0; i < 4000; ++i) ++nucleus[sample_token(logits, p6, gen)];
  CHECK(nucleus[0] > 0);
  CHECK(nucleus[1] > 0);
  CHECK(nucleus[2] + nucleus[3] + nucleus[4] == 0);
  SamplingOptions cold = t1;
  cold.temperature = 1e-4;
  for (int i = 0; i < 100; ++i) CHECK(sample_token(logits, cold, gen) == 0);
  // The same seed gives the same samples.
  Generator a(11), b(11);
  for (int i = 0; i < 50; ++i) CHECK(sample_token(logits, t1, a) == sample_token(logits, t1, b));
  SamplingOptions bad = t1;
  bad.top_p = 0;
  CHECK_THROWS_AS(validate(bad), ValueError);
  bad = t1;
  bad.temperature = -1;
  CHECK_THROWS_AS(validate(bad), ValueError);
}

TEST_CASE("checkpoint: weights and buffers round-trip and mismatches and broken files are errors", "[checkpoint]") {
  const Experiment e = load(hybrid_text("", "", "", "", "balance = [{ type = \"aux_free_bias\" }]"));
  auto original = build_experiment(e, test::hybrid_registry());
  // Buffers travel too: give the aux-free controller's bias a state to restore.
  for (auto& b : original.model->named_buffers()) b.tensor.fill_(0.25);
  const fs::path folder = test::fresh_temp_dir("hybrid", "ckpt");
  save_checkpoint(folder / "checkpoint", e, *original.model);
  CHECK(fs::exists(folder / "checkpoint" / kCheckpointExperimentFile));
  CHECK(fs::exists(folder / "checkpoint" / kCheckpointWeightsFile));

  LoadedCheckpoint loaded = load_checkpoint(folder / "checkpoint", test::hermetic_options(), test::hybrid_registry());
  Generator gen(5);
  const Tensor ids = Tensor::randint({2, 9}, 0, 6, gen);
  CHECK(test::mismatch(full_logits(*loaded.model, ids), full_logits(*original.model, ids), 0).empty());
  REQUIRE_FALSE(loaded.model->named_buffers().empty());
  for (const auto& b : loaded.model->named_buffers()) CHECK(b.tensor.to_vector<double>()[0] == 0.25);
  CHECK(loaded.task != nullptr);

  // Another model's weights: missing, unexpected and mis-shaped tensors are named, and the
  // model is left as it was.
  auto other = build_experiment(load(hybrid_text("", "", "d_inner = 48")), test::hybrid_registry());
  const Tensor before = full_logits(*other.model, ids);
  try {
    load_model_weights(*other.model, folder / "checkpoint" / kCheckpointWeightsFile);
    FAIL("no error");
  } catch (const FileFormatError& err) {
    const std::string message = err.what();
    CHECK(message.find("shape or dtype mismatches: layers.0.mixer.in_proj.weight (file [64, 16], model [96, 16])") !=
          std::string::npos);
    CHECK(message.find("in all)") != std::string::npos);  // more than five, counted
  }
  CHECK(test::mismatch(full_logits(*other.model, ids), before, 0).empty());
  auto no_balance = build_experiment(load(hybrid_text()), test::hybrid_registry());
  CHECK_THROWS_WITH(load_model_weights(*no_balance.model, folder / "checkpoint" / kCheckpointWeightsFile),
                    Catch::Contains("unexpected tensors: layers.1.ffn.balance_0.expert_bias"));

  // A truncated weights file, a folder without the weights, a path that is not a folder.
  const fs::path broken = test::fresh_temp_dir("hybrid", "broken");
  fs::copy(folder / "checkpoint", broken / "checkpoint");
  const fs::path weights = broken / "checkpoint" / kCheckpointWeightsFile;
  fs::resize_file(weights, fs::file_size(weights) / 2);
  CHECK_THROWS_WITH(load_checkpoint(broken / "checkpoint", test::hermetic_options(), test::hybrid_registry()),
                    Catch::Contains("lie outside"));
  fs::remove(weights);
  CHECK_THROWS_WITH(load_checkpoint(broken / "checkpoint", test::hermetic_options(), test::hybrid_registry()),
                    Catch::Contains("model.safetensors is missing"));
  CHECK_THROWS_AS(load_checkpoint(broken / "nothing", test::hermetic_options(), test::hybrid_registry()), FileFormatError);
}

TEST_CASE("checkpoint: bf16 weights load into an f32 model tensor by tensor, rounded values intact", "[checkpoint][half]") {
  const Experiment e = load(hybrid_text());
  auto original = build_experiment(e, test::hybrid_registry());
  std::vector<std::pair<std::string, Tensor>> bf16_weights;
  for (const auto& p : original.model->named_parameters()) bf16_weights.emplace_back(p.name, p.tensor.to(DType::bf16));
  for (const auto& b : original.model->named_buffers()) bf16_weights.emplace_back(b.name, b.tensor.to(DType::bf16));
  const fs::path file = test::fresh_temp_dir("hybrid", "bf16") / "model.safetensors";
  safetensors::write(file, bf16_weights);
  CHECK(safetensors::Reader(file).load(bf16_weights[0].first).dtype() == DType::bf16);  // stored 16-bit

  auto loaded = build_experiment(e, test::hybrid_registry());
  load_model_weights(*loaded.model, file);
  const auto params = loaded.model->named_parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    INFO(params[i].name);
    CHECK(params[i].tensor.dtype() == DType::f32);  // the model keeps its f32 master weights
    CHECK(test::mismatch(params[i].tensor, bf16_weights[i].second.to(DType::f32), 0).empty());
  }
}

TEST_CASE("experiment: a model-only file (no [task]) plans and builds, given vocab_size", "[plan]") {
  const std::string model_only =
      "[model]\nd_model = 16\nn_layers = 2\nvocab_size = 50\n"
      "[model.mixer.m]\ntype = \"mamba\"\nd_state = 4\n";
  const Experiment e = load(model_only);
  CHECK_FALSE(e.has_task());
  CHECK(e.resolved_toml().find("[task]") == std::string::npos);
  const auto built = build_experiment(e, test::hybrid_registry());
  CHECK(built.task == nullptr);
  CHECK(built.model->dims().vocab_size == 50);
  CHECK(plan_model(e, test::hybrid_registry(), {}).params_total == built.model->num_parameters());
  const std::string no_vocab = "[model]\nd_model = 16\nn_layers = 2\n[model.mixer.m]\ntype = \"mamba\"\n";
  CHECK_THROWS_WITH(build_experiment(load(no_vocab), test::hybrid_registry()),
                    Catch::Contains("but the experiment has no [task]"));
}

TEST_CASE("presets: published models plan to their exact Hugging Face parameter counts", "[plan][presets]") {
  // Totals: sum of numel over the transformers model's parameters (tied weights once),
  // instantiated on the meta device from each model's config.json with transformers 4.57.6.
  // Active: the total less the (E - top_k) unused experts of each MoE layer.
  struct Published {
    const char* file;
    std::int64_t total, active;
  };
  for (const Published& p : {Published{"llama-2-7b.toml", 6738415616, 6738415616},
                             Published{"mixtral-8x7b.toml", 46702792704, 12879925248},
                             Published{"mamba-130m.toml", 129135360, 129135360},
                             Published{"mamba-2.8b.toml", 2768345600, 2768345600},
                             Published{"jamba-v0.1.toml", 51570323328, 12110311296},
                             // transformers 5.24's Mamba2ForCausalLM (tests/fixtures/hf/PUBLISHED.md)
                             Published{"mamba2-130m.toml", 128989632, 128989632},
                             Published{"mamba2-2.7b.toml", 2702599680, 2702599680},
                             Published{"mamba-codestral-7b.toml", 7285403648, 7285403648},
                             // transformers 5.24's BambaForCausalLM (tests/fixtures/hf/PUBLISHED.md)
                             Published{"bamba-9b.toml", 9780235392, 9780235392},
                             // transformers 5.24's GraniteMoeHybridForCausalLM (PUBLISHED.md)
                             Published{"granite-4.0-h-tiny.toml", 6939037248, 1465470528},
                             // transformers 4.57.6 and 5.25's Qwen3NextForCausalLM (PUBLISHED.md)
                             Published{"qwen3-next-80b-a3b.toml", 79674391296, 3874929408}}) {
    INFO(p.file);
    const Experiment e = Experiment::load(fs::path(STRATA_PRESETS_DIR) / p.file, test::hermetic_options(),
                                          test::hybrid_registry());
    const ModelPlan plan = plan_model(e, test::hybrid_registry(), {262144, "bf16"});
    CHECK_FALSE(plan.estimated);
    CHECK(plan.params_total == p.total);
    CHECK(plan.params_active == p.active);
  }
  // The KV caches at 256K tokens in 16-bit of the Jamba paper's comparison (Lieber et al.
  // 2024, table 1): Llama-2 7B 128 GB, Mixtral 32 GB, Jamba 4 GB (binary units).
  const auto kv = [&](const char* file) {
    const Experiment e =
        Experiment::load(fs::path(STRATA_PRESETS_DIR) / file, test::hermetic_options(), test::hybrid_registry());
    return plan_model(e, test::hybrid_registry(), {262144, "bf16"}).mixer_types.at("attention").cache_bytes;
  };
  CHECK(kv("llama-2-7b.toml") == std::int64_t(128) << 30);
  CHECK(kv("mixtral-8x7b.toml") == std::int64_t(32) << 30);
  CHECK(kv("jamba-v0.1.toml") == std::int64_t(4) << 30);
  const Experiment jamba =
      Experiment::load(fs::path(STRATA_PRESETS_DIR) / "jamba-v0.1.toml", test::hermetic_options(), test::hybrid_registry());
  const ModelPlan plan = plan_model(jamba, test::hybrid_registry(), {262144, "bf16"});
  CHECK(plan.mixer_types.at("attention").layers == 4);
  CHECK(plan.mixer_types.at("mamba").layers == 28);
  CHECK(plan.ffn_types.at("moe").layers == 16);
  // A Mamba layer's state does not grow with the context: (d_conv - 1) E + E N elements.
  CHECK(plan.mixer_types.at("mamba").cache_bytes == 28 * (3 * 8192 + 8192 * 16) * 2);
}
