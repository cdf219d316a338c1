// The attention mixer as a plugin component: conformance checks (f64 gradients of the
// input and every parameter, causality, decoding) for every option, KV-cache decoding
// against the full forward at several prompt lengths, and the equivalences between
// MHA, GQA and fused projections.
#include <string>
#include <vector>

#include "attention_registry.h"
#include "catch.h"
#include "helpers.h"
#include "strata/autograd.h"

using namespace strata;

namespace {

const std::vector<std::vector<std::string>> kOptionSets = {
    {},
    {"n_kv_heads=2"},
    {"n_kv_heads=1", "positions=\"none\""},
    {"n_heads=2", "head_dim=6", "window=3"},
    {"fused_qkv=true", "qkv_bias=true", "out_bias=true", "n_kv_heads=2"},
    {"rope_fraction=0.5", "rope_interleaved=true", "rope_theta=1e6", "softmax_scale=0.7"},
    {"impl=\"naive\"", "n_kv_heads=2", "window=4"},
    {"qk_norm=true", "qk_norm_eps=1e-5", "n_kv_heads=2"},
    {"qk_norm=true", "fused_qkv=true", "rope_scaling=\"yarn\"", "rope_factor=4.0", "rope_original_context=4"},
    // Qwen3-Next's gated attention
    {"output_gate=true", "qk_norm=true", "rope_fraction=0.5", "n_kv_heads=2", "head_dim=4"},
    // Not dynamic and longrope RoPE: they choose frequencies by the forward's length, as
    // transformers does, so decoding past the threshold differs from the forward by design
    // (docs/attention.md; test_hf_fixtures checks them against transformers).
};

std::string describe(const std::vector<std::string>& keys) {
  std::string s = "attention";
  for (const auto& k : keys) s += " " + k;
  return s;
}

void set_parameter(Module& m, const std::string& name, const Tensor& value) {
  for (auto& p : m.named_parameters())
    if (p.name == name) {
      autograd::NoGradGuard no_grad;
      p.tensor.copy_(value);
      return;
    }
  FAIL("no parameter " << name);
}

Tensor parameter(const Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters())
    if (p.name == name) return p.tensor;
  FAIL("no parameter " << name);
  return {};
}

// Decodes x ([B, T, D]) as a prompt of `prompt` tokens, then the rest in steps of `step`.
Tensor decode(Mixer& mixer, const Tensor& x, std::int64_t prompt, std::int64_t step) {
  autograd::NoGradGuard no_grad;
  StepContext ctx;
  auto state = mixer.make_state(x.size(0));
  REQUIRE(state);
  std::vector<Tensor> outputs;
  std::int64_t t = 0;
  if (prompt > 0) {
    outputs.push_back(mixer.forward_step(slice(x, 1, 0, prompt), *state, ctx));
    t = prompt;
  }
  for (; t < x.size(1); t += step) outputs.push_back(mixer.forward_step(slice(x, 1, t, t + step), *state, ctx));
  CHECK(state->position() == x.size(1));
  return concat(outputs, 1);
}

}  // namespace

TEST_CASE("attention mixer passes the conformance checks with every option", "[attention][mixer][gradcheck]") {
  for (const auto& keys : kOptionSets) {
    INFO(describe(keys));
    const Config config = testing::component_config(test::attention_registry(), ComponentKind::mixer, "attention", keys);
    testing::ComponentCheckOptions options;
    options.d_model = 16;
    options.seq_len = 11;
    const testing::CheckReport report =
        testing::check_component(test::attention_registry(), ComponentKind::mixer, config, options);
    INFO(report.to_string());
    CHECK(report.passed());
  }
}

TEST_CASE("attention mixer: KV-cache decoding equals the full forward", "[attention][mixer][decode]") {
  Generator gen(90);
  const Tensor x = Tensor::randn({3, 170, 16}, gen, DType::f64);  // batch 3, past one key tile
  for (const auto& keys : kOptionSets) {
    if (describe(keys).find("naive") != std::string::npos) continue;  // the same cache; covered by conformance
    auto mixer = test::make_attention(keys, 16);
    StepContext ctx;
    const Tensor full = mixer->forward(x, ctx);
    for (const auto& [prompt, step] : std::vector<std::pair<std::int64_t, std::int64_t>>{
             {1, 1}, {5, 1}, {17, 3}, {150, 1}, {0, 170}}) {
      INFO(describe(keys) << ", prompt " << prompt << ", step " << step);
      STRATA_REQUIRE_CLOSE(decode(*mixer, x, prompt, step), full, 1e-12, 1e-12);
    }
  }
}

TEST_CASE("attention mixer: a sliding-window cache stays bounded by the window", "[attention][mixer][decode]") {
  Generator gen(91);
  const Tensor x = Tensor::randn({2, 300, 8}, gen, DType::f64);
  auto windowed = test::make_attention({"n_heads=2", "window=10", "n_kv_heads=1"}, 8);
  auto unbounded = test::make_attention({"n_heads=2", "n_kv_heads=1"}, 8);
  autograd::NoGradGuard no_grad;
  StepContext ctx;
  auto w_state = windowed->make_state(2), u_state = unbounded->make_state(2);
  std::vector<Tensor> outputs;
  std::size_t w_bytes = 0, u_bytes = 0;
  for (std::int64_t t = 0; t < 300; ++t) {
    outputs.push_back(windowed->forward_step(slice(x, 1, t, t + 1), *w_state, ctx));
    unbounded->forward_step(slice(x, 1, t, t + 1), *u_state, ctx);
    w_bytes = std::max(w_bytes, w_state->size_bytes());
    u_bytes = u_state->size_bytes();
  }
  STRATA_REQUIRE_CLOSE(concat(outputs, 1), windowed->forward(x, ctx), 1e-12, 1e-12);
  // 2 sequences x 1 kv head x 4 channels x 8 bytes x (k and v): 128 bytes per cached token.
  CHECK(u_bytes >= 300 * 128);
  CHECK(w_bytes <= 32 * 128);  // at most twice the window (the buffer grows by doubling)
}

TEST_CASE("attention mixer: GQA with n_kv_heads = n_heads is MHA", "[attention][mixer][gqa]") {
  Generator gen(92);
  const Tensor x = Tensor::randn({2, 9, 16}, gen, DType::f64);
  StepContext ctx;
  auto mha = test::make_attention({"n_heads=4"}, 16, DType::f64, 5);
  auto gqa = test::make_attention({"n_heads=4", "n_kv_heads=4"}, 16, DType::f64, 5);
  STRATA_REQUIRE_CLOSE(gqa->forward(x, ctx), mha->forward(x, ctx), 0.0, 0.0);
}

TEST_CASE("attention mixer: GQA equals MHA whose K/V heads repeat the shared ones", "[attention][mixer][gqa]") {
  Generator gen(93);
  const std::int64_t D = 16, H = 4, Hkv = 2, d = 4;
  const Tensor x = Tensor::randn({2, 9, D}, gen, DType::f64);
  StepContext ctx;
  for (const char* positions : {"positions=\"rope\"", "positions=\"none\""}) {
    INFO(positions);
    auto gqa = test::make_attention({"n_heads=4", "n_kv_heads=2", positions}, D, DType::f64, 6);
    auto mha = test::make_attention({"n_heads=4", positions}, D, DType::f64, 7);
    set_parameter(*mha, "q_proj.weight", parameter(*gqa, "q_proj.weight"));
    set_parameter(*mha, "o_proj.weight", parameter(*gqa, "o_proj.weight"));
    for (const char* name : {"k_proj.weight", "v_proj.weight"}) {
      // [Hkv * d, D] -> [H * d, D]: kv head g serves query heads 2g and 2g + 1
      const Tensor w = reshape(parameter(*gqa, name), {Hkv, 1, d, D});
      set_parameter(*mha, name, reshape(expand(w, {Hkv, H / Hkv, d, D}).contiguous(), {H * d, D}));
    }
    STRATA_REQUIRE_CLOSE(gqa->forward(x, ctx), mha->forward(x, ctx), 1e-13, 1e-13);
  }
}

TEST_CASE("attention mixer: a fused qkv projection equals separate ones", "[attention][mixer]") {
  Generator gen(94);
  const Tensor x = Tensor::randn({2, 9, 16}, gen, DType::f64);
  StepContext ctx;
  auto separate = test::make_attention({"n_kv_heads=2", "qkv_bias=true"}, 16, DType::f64, 8);
  auto fused = test::make_attention({"n_kv_heads=2", "qkv_bias=true", "fused_qkv=true"}, 16, DType::f64, 9);
  for (const char* part : {"weight", "bias"}) {
    const std::string p = part;
    set_parameter(*fused, "qkv_proj." + p,
                  concat({parameter(*separate, "q_proj." + p), parameter(*separate, "k_proj." + p),
                          parameter(*separate, "v_proj." + p)},
                         0));
  }
  set_parameter(*fused, "o_proj.weight", parameter(*separate, "o_proj.weight"));
  STRATA_REQUIRE_CLOSE(fused->forward(x, ctx), separate->forward(x, ctx), 1e-13, 1e-13);
}

TEST_CASE("attention mixer: parameter names and counts follow Hugging Face Llama", "[attention][mixer]") {
  auto m = test::make_attention({"n_heads=8", "n_kv_heads=2", "out_bias=true"}, 32);
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.name + " " + p.tensor.shape().to_string());
  CHECK(names == std::vector<std::string>{"q_proj.weight [32, 32]", "k_proj.weight [8, 32]", "v_proj.weight [8, 32]",
                                          "o_proj.weight [32, 32]", "o_proj.bias [32]"});
  auto bidirectional = test::make_attention({"causal=false"}, 32);
  CHECK_FALSE(bidirectional->causal());
  CHECK(bidirectional->make_state(1) == nullptr);
}

TEST_CASE("attention mixer: decoding in uneven chunks, larger and smaller than the window", "[attention][mixer][decode]") {
  Generator gen(95);
  const Tensor x = Tensor::randn({2, 170, 16}, gen, DType::f64);
  const std::vector<std::int64_t> steps = {3, 1, 40, 7, 1, 100, 18};  // sums to 170
  for (const char* window : {"window=5", "window=64", "window=500"}) {
    INFO(window);
    auto mixer = test::make_attention({window, "n_kv_heads=2"}, 16);
    StepContext ctx;
    const Tensor full = mixer->forward(x, ctx);
    autograd::NoGradGuard no_grad;
    auto state = mixer->make_state(2);
    std::vector<Tensor> outputs;
    std::int64_t t = 0;
    for (std::int64_t step : steps) {
      outputs.push_back(mixer->forward_step(slice(x, 1, t, t + step), *state, ctx));
      t += step;
    }
    REQUIRE(t == 170);
    STRATA_REQUIRE_CLOSE(concat(outputs, 1), full, 1e-12, 1e-12);
  }
}

TEST_CASE("attention mixer: bidirectional attention skips the causality, packing and decoding checks", "[attention][mixer]") {
  const Config config =
      testing::component_config(test::attention_registry(), ComponentKind::mixer, "attention", {"causal=false"});
  const testing::CheckReport report = testing::check_component(test::attention_registry(), ComponentKind::mixer, config);
  INFO(report.to_string());
  CHECK(report.passed());
  int skipped = 0;
  for (const auto& item : report.items) skipped += item.skipped ? 1 : 0;
  CHECK(skipped == 3);
}

TEST_CASE("attention output_gate: q_proj holds each head's query and gate, the output is gated by its sigmoid",
          "[attention][mixer]") {
  // 2 heads of 4: gated q_proj [2 (4 + 4), 8]. With the gate rows zero, sigmoid(0) = 1/2
  // halves the output of the same attention without a gate (o_proj has no bias).
  auto gated = test::make_attention({"n_heads=2", "head_dim=4", "output_gate=true", "qk_norm=true"}, 8, DType::f64, 3);
  auto plain = test::make_attention({"n_heads=2", "head_dim=4", "qk_norm=true"}, 8, DType::f64, 4);
  const Tensor q_gate = mul(parameter(*gated, "q_proj.weight"), 1.0);  // a copy: the parameter changes below
  REQUIRE(q_gate.shape() == Shape{16, 8});
  const std::vector<Tensor> heads = split(reshape(q_gate, {2, 8, 8}), {4, 4}, 1);  // per head: [query; gate]
  set_parameter(*plain, "q_proj.weight", reshape(heads[0], {8, 8}));
  set_parameter(*gated, "q_proj.weight", reshape(concat({heads[0], mul(heads[1], 0.0)}, 1), {16, 8}));
  for (const char* name : {"k_proj.weight", "v_proj.weight", "o_proj.weight", "q_norm.weight", "k_norm.weight"})
    set_parameter(*plain, name, parameter(*gated, name));
  Generator data(8);
  const Tensor x = Tensor::randn({2, 9, 8}, data, DType::f64);
  StepContext ctx;
  STRATA_REQUIRE_CLOSE(gated->forward(x, ctx), mul(plain->forward(x, ctx), 0.5), 1e-12, 1e-12);
  // A gate that is not zero changes the output head by head.
  set_parameter(*gated, "q_proj.weight", q_gate);
  CHECK_FALSE(test::mismatch(gated->forward(x, ctx), mul(plain->forward(x, ctx), 0.5), 1e-3, 1e-3).empty());
  CHECK_THROWS_WITH(test::make_attention({"output_gate=true", "fused_qkv=true"}, 8),
                    Catch::Contains("output_gate") && Catch::Contains("q_proj"));
}
