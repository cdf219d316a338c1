// Memory planning (strata/memory_plan.h): the activations the plan declares are what a
// training forward really keeps (measured with the allocator), the planned peak of a
// training step bounds the measured one, the longest contexts are the edges of what fits,
// and the published models' verdicts for a 128 GB machine follow from their sizes.
#include <filesystem>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "jamba/hybrid_registry.h"
#include "strata/allocator.h"
#include "strata/autograd.h"
#include "strata/experiment.h"
#include "strata/memory_plan.h"
#include "strata/model_plan.h"
#include "strata/ops.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

Experiment experiment(const std::string& text) {
  return Experiment::from_string(text, "model.toml", test::hermetic_options(), test::hybrid_registry());
}

struct Measured {
  double retained = 0;  // bytes alive after the forward (and the loss): what the backward needs
  double peak = 0;      // the step's peak, over what was allocated before it (the weights)
};

// One training step of `e`'s model on a batch of B random sequences of T tokens.
Measured measure_step(const Experiment& e, std::int64_t B, std::int64_t T) {
  auto objects = build_experiment(e, test::hybrid_registry());
  Generator gen(1);
  const Tensor ids = Tensor::randint({B, T}, 0, objects.model->dims().vocab_size, gen);
  Allocator& allocator = allocator_for(Device::cpu());
  objects.model->train(true);
  StepContext ctx(true, &gen);
  allocator.reset_peak();
  const std::size_t before = allocator.stats().allocated_bytes;
  Measured m;
  {
    Tensor logits = objects.model->forward(ids, ctx);  // [B, T, V]
    Tensor loss = cross_entropy(logits, ids);
    logits = Tensor();
    m.retained = double(allocator.stats().allocated_bytes - before);
    loss.backward();
  }
  m.peak = double(allocator.stats().peak_allocated_bytes - before);
  return m;
}

const std::string kBase = "[model]\nd_model = 64\nn_layers = 4\nvocab_size = 64\n";
const std::string kAttention = "[model.mixer.a]\ntype = \"attention\"\nn_heads = 4\nn_kv_heads = 2\n";
const std::string kMlp = "[model.ffn.f]\ntype = \"mlp\"\nd_ff = 128\n";
const std::string kMoe = "[model.ffn.f]\ntype = \"moe\"\nn_experts = 4\ntop_k = 2\nd_ff = 128\n";
const std::string kMamba = "[model.mixer.m]\ntype = \"mamba\"\nd_state = 16\ndt_rank = 8\n";

}  // namespace

TEST_CASE("memory plan: declared activations are what a training forward keeps, and the step's peak is bounded",
          "[memory]") {
  const std::string jamba = "[model]\nd_model = 32\nn_layers = 4\nvocab_size = 64\n"
                            "[model.stack]\ntype = \"jamba\"\nattn_layer_period = 2\nattn_layer_offset = 1\n"
                            "expert_layer_period = 2\nexpert_layer_offset = 1\n"
                            "[model.mixer.attention]\ntype = \"attention\"\nn_heads = 4\npositions = \"none\"\n"
                            "[model.mixer.mamba]\ntype = \"mamba\"\nd_state = 8\ninner_norms = true\n"
                            "[model.ffn.mlp]\ntype = \"mlp\"\nd_ff = 64\n"
                            "[model.ffn.moe]\ntype = \"moe\"\nn_experts = 4\ntop_k = 2\nd_ff = 64\n";
  std::string large_vocab = kBase + kAttention + kMlp;
  large_vocab.replace(large_vocab.find("vocab_size = 64"), 15, "vocab_size = 4096");
  const std::vector<std::pair<std::string, std::string>> models = {
      {"attention", kBase + kAttention},
      {"attention + mlp", kBase + kAttention + kMlp},
      {"attention + moe", kBase + kAttention + kMoe},
      {"mamba", kBase + kMamba},
      {"mamba + mlp", kBase + kMamba + kMlp},
      {"naive attention", kBase + kAttention + "impl = \"naive\"\n"},
      {"jamba", jamba},
      {"gated_deltanet", kBase + "[model.mixer.g]\ntype = \"gated_deltanet\"\nkey_heads = 2\nvalue_heads = 4\n"
                                 "key_head_dim = 16\n"},
      {"qwen3-next layout",
       kBase + "[model.stack]\ntype = \"pattern\"\nmixers = [\"g\", \"g\", \"g\", \"a\"]\n"
               "[model.mixer.g]\ntype = \"gated_deltanet\"\nkey_heads = 2\nvalue_heads = 4\nkey_head_dim = 16\n"
               "[model.mixer.a]\ntype = \"attention\"\nn_heads = 4\nn_kv_heads = 2\noutput_gate = true\nqk_norm = true\n"
               "[model.ffn.f]\ntype = \"moe\"\nn_experts = 4\ntop_k = 2\nd_ff = 64\nn_shared_experts = 1\n"
               "shared_gate = true\n"},
      {"large vocabulary", large_vocab}};
  for (const auto& [name, text] : models) {
    const Experiment e = experiment(text);
    for (const std::int64_t T : {200, 1000}) {
      INFO(name << ", T = " << T);
      const std::int64_t B = 2;
      const Measured measured = measure_step(e, B, T);
      const ModelPlan plan = plan_model(e, test::hybrid_registry(), PlanQuery{T, "f32"});
      REQUIRE(plan.activations_known);
      // f32 activations of the batch; the allocator rounds sizes up by at most 12.5%.
      const double activations = 4.0 * double(B * plan.activation_elements);
      CHECK(measured.retained >= 0.95 * activations);
      CHECK(measured.retained <= 1.05 * activations);
      // The planned step: activations, the gradients (f32, one per parameter) and the
      // backward's transient (the logits' gradient and two layers): an upper bound, not a
      // wild one.
      MemoryQuery q;
      q.budget_bytes = std::int64_t(1) << 40;
      q.budget_name = "test";
      q.batch = B;
      q.seq_len = q.context = T;
      const MemoryPlan m = plan_memory(e, test::hybrid_registry(), q);
      const double planned = double(m.activation_bytes + m.workspace_bytes + 4 * m.params);
      CHECK(measured.peak <= planned);
      CHECK(measured.peak >= 0.5 * planned);
    }
  }
}

TEST_CASE("memory plan: the longest contexts are the edges of what fits", "[memory]") {
  const Experiment attention = experiment(kBase + kAttention + kMlp);
  const Experiment mamba = experiment(kBase + kMamba + kMlp);
  MemoryQuery q;
  q.budget_bytes = 64 << 20;  // 64 MiB
  q.budget_name = "64MiB";
  q.batch = 2;
  q.seq_len = q.context = 100;
  for (const std::string dtype : {"f32", "bf16"}) {
    INFO(dtype);
    q.dtype = dtype;
    const MemoryPlan plan = plan_memory(attention, test::hybrid_registry(), q);
    REQUIRE(plan.max_train_seq_len > 100);
    REQUIRE(plan.max_decode_context > 100);
    for (const auto& [length, fits] : {std::pair{plan.max_train_seq_len, true}, {plan.max_train_seq_len + 1, false}}) {
      MemoryQuery at = q;
      at.seq_len = length;
      CHECK(plan_memory(attention, test::hybrid_registry(), at).train_fits() == fits);
    }
    for (const auto& [length, fits] : {std::pair{plan.max_decode_context, true}, {plan.max_decode_context + 1, false}}) {
      MemoryQuery at = q;
      at.context = length;
      CHECK(plan_memory(attention, test::hybrid_registry(), at).decode_fits() == fits);
    }
    // Mamba's decode state does not grow; its training activations do.
    const MemoryPlan recurrent = plan_memory(mamba, test::hybrid_registry(), q);
    CHECK(recurrent.max_decode_context == kUnbounded);
    CHECK(recurrent.max_train_seq_len > 0);
  }
  // bf16 activations and cache: longer contexts than f32 in the same memory.
  q.dtype = "f32";
  const MemoryPlan f32 = plan_memory(attention, test::hybrid_registry(), q);
  q.dtype = "bf16";
  const MemoryPlan bf16 = plan_memory(attention, test::hybrid_registry(), q);
  CHECK(bf16.max_train_seq_len > f32.max_train_seq_len);
  CHECK(bf16.max_decode_context > f32.max_decode_context);
  // A budget smaller than the weights and optimizer state: nothing trains.
  q.budget_bytes = 1024;
  CHECK(plan_memory(attention, test::hybrid_registry(), q).max_train_seq_len == 0);
  q.batch = 0;
  CHECK_THROWS_AS(plan_memory(attention, test::hybrid_registry(), q), ValueError);
}

TEST_CASE("memory plan: published models on a 128 GB machine", "[memory]") {
  const fs::path presets = STRATA_PRESETS_DIR;
  MemoryQuery q;
  const MemoryTarget& spark = memory_target("dgx-spark");
  q.budget_bytes = spark.bytes;
  q.budget_name = spark.name;
  q.dtype = "bf16";
  q.seq_len = q.context = 4096;
  const auto plan = [&](const char* preset) {
    const Experiment e = Experiment::load(presets / preset, test::hermetic_options(), test::hybrid_registry());
    return plan_memory(e, test::hybrid_registry(), q);
  };
  // Mixtral 8x7B in bf16 (46.7 B parameters, 93.4 GB) decodes in 128 GB; training it with
  // AdamW does not fit at all.
  const MemoryPlan mixtral = plan("mixtral-8x7b.toml");
  CHECK(mixtral.weights_bytes == 2 * mixtral.params);
  CHECK(mixtral.decode_fits());
  CHECK(mixtral.max_train_seq_len == 0);
  // Mamba's state does not grow; Llama-2-7B's KV cache does, 0.5 MiB per token in bf16.
  CHECK(plan("mamba-2.8b.toml").max_decode_context == kUnbounded);
  const MemoryPlan llama = plan("llama-2-7b.toml");
  CHECK(llama.max_decode_context == (spark.bytes - llama.weights_bytes) / (512 * 1024));
  CHECK(plan("jamba-v0.1.toml").max_decode_context > 8 * llama.max_decode_context);
}

TEST_CASE("memory plan: sizes and targets", "[memory]") {
  CHECK(parse_memory_size("128GiB") == std::int64_t(128) << 30);
  CHECK(parse_memory_size("96 GB") == 96'000'000'000);
  CHECK(parse_memory_size("1.5TiB") == std::int64_t(3) << 39);
  CHECK(parse_memory_size("512mib") == std::int64_t(512) << 20);
  CHECK(parse_memory_size("4096") == 4096);
  for (const char* bad : {"", "GiB", "12XB", "-5GB", "0GB", "nanGB", "1e30GB"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_memory_size(bad), Catch::Contains("is not a size"));
  }
  CHECK(memory_target("dgx-spark").bytes == std::int64_t(128) << 30);
  CHECK_THROWS_WITH(memory_target("dgx-sparc"), Catch::Contains("known: dgx-spark"));
}
