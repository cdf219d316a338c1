// The jamba stack: Jamba-v0.1's 32-layer table from the period/offset rules, other
// layouts, located errors for bad layouts, and hybrid decoding (attention KV cache, Mamba
// conv + SSM state, MoE) equal to the full forward.
#include <string>
#include <vector>

#include "catch.h"
#include "config_error_cases.h"
#include "helpers.h"
#include "strata/autograd.h"
#include "strata/experiment.h"
#include "strata/model.h"
#include "jamba/hybrid_registry.h"
#include "plugin_registry.h"

using namespace strata;

namespace {

// Lines 1-20 of a Jamba experiment; extra stack keys go on line 9.
std::string jamba_text(std::int64_t n_layers, const std::string& stack_keys = "") {
  return "[task]\n"                                                           // 1
         "type = \"copy\"\n"                                                  // 2
         "n_symbols = 6\n"                                                    // 3
         "copy_len = 4\n"                                                     // 4
         "[model]\n"                                                          // 5
         "d_model = 16\n"                                                     // 6
         "n_layers = " + std::to_string(n_layers) + "\n"                      // 7
         "[model.stack]\ntype = \"jamba\"\n" +                                // 8, 9
         stack_keys + "\n"
         "[model.mixer.attention]\ntype = \"attention\"\npositions = \"none\"\n"
         "[model.mixer.mamba]\ntype = \"mamba\"\ninner_norms = true\nd_state = 4\n"
         "[model.ffn.mlp]\ntype = \"mlp\"\nd_ff = 24\n"
         "[model.ffn.moe]\ntype = \"moe\"\nn_experts = 4\ntop_k = 2\nd_ff = 12\n"
         "router = { type = \"softmax_topk\", renormalize = false }\n";
}

std::vector<std::string> layer_types(const std::string& text) {
  const Experiment e = Experiment::from_string(text, "jamba.toml", test::hermetic_options(), test::hybrid_registry());
  const auto objects = build_experiment(e, test::hybrid_registry());
  std::vector<std::string> types;
  for (const LayerPlan& l : objects.model->plan()) types.push_back(l.mixer_entry + "+" + l.ffn_entry);
  return types;
}

}  // namespace

TEST_CASE("jamba: the 32-layer Jamba-v0.1 table follows the period/offset rules", "[jamba]") {
  const std::vector<std::string> types = layer_types(jamba_text(32));
  REQUIRE(types.size() == 32);
  for (std::size_t i = 0; i < 32; ++i) {
    INFO("layer " << i);
    // Attention at 4, 12, 20, 28, each with a dense MLP; MoE on every odd layer.
    const std::string mixer = i % 8 == 4 ? "attention" : "mamba";
    const std::string ffn = i % 2 == 1 ? "moe" : "mlp";
    CHECK(types[i] == mixer + "+" + ffn);
  }
}

TEST_CASE("jamba: other periods and offsets, and entries only needed when used", "[jamba]") {
  const std::vector<std::string> types =
      layer_types(jamba_text(6, "attn_layer_period = 3\nattn_layer_offset = 0\nexpert_layer_period = 3\nexpert_layer_offset = 2"));
  CHECK(types == std::vector<std::string>{"attention+mlp", "mamba+mlp", "mamba+moe", "attention+mlp", "mamba+mlp",
                                          "mamba+moe"});
  // 4 layers with the default offset 4 have no attention layer: no attention entry needed.
  const std::string no_attention = "[task]\ntype = \"copy\"\n[model]\nd_model = 16\nn_layers = 4\n[model.stack]\n"
                                   "type = \"jamba\"\n[model.mixer.mamba]\ntype = \"mamba\"\n[model.ffn.mlp]\ntype = \"mlp\"\n"
                                   "[model.ffn.moe]\ntype = \"moe\"\n";
  CHECK(layer_types(no_attention).front() == "mamba+mlp");
}

TEST_CASE("jamba: bad layouts are located errors", "[jamba][errors]") {
  test::check_config_errors(
      {
          {"attention offset = period", "attn_layer_offset = 8", "bad.toml:10:21", "model.stack.attn_layer_offset",
           "must be below attn_layer_period = 8", "one of 0 .. period - 1"},
          {"expert offset above period", "expert_layer_period = 2\nexpert_layer_offset = 3", "bad.toml:11:23",
           "model.stack.expert_layer_offset", "must be below expert_layer_period = 2", ""},
          {"period 0", "attn_layer_period = 0", "bad.toml:10:21", "model.stack.attn_layer_period", "out of range", ""},
          {"undeclared entry", "moe = \"experts\"", "bad.toml:10:7", "model.stack.moe",
           "names ffn entry \"experts\", which is not declared", "add [model.ffn.experts]"},
          {"misspelt key", "attn_period = 4", "bad.toml:10:1", "model.stack.attn_period", "unknown key",
           "attn_layer_period"},
      },
      [](const std::string& keys) { return jamba_text(8, keys); }, test::hybrid_registry());
}

TEST_CASE("jamba: hybrid decoding (KV cache, conv + SSM state, MoE) equals the full forward", "[jamba][decode]") {
  const Experiment e = Experiment::from_string(jamba_text(8, "attn_layer_period = 4\nattn_layer_offset = 1"),
                                               "jamba.toml", test::hermetic_options(), test::hybrid_registry());
  const auto objects = build_experiment(e, test::hybrid_registry());
  ModelDims dims = objects.model->dims();
  Generator gen(3);
  const auto model = Model::build(e.model, test::hybrid_registry(), dims, gen, DType::f64);
  autograd::NoGradGuard no_grad;
  const Tensor ids = Tensor::randint({2, 13}, 0, dims.vocab_size, gen);
  StepContext ctx;
  const Tensor full = model->forward(ids, ctx);
  DecodeState state = model->make_decode_state(2);
  std::vector<Tensor> pieces;
  pieces.push_back(model->forward_step(ids.slice(1, 0, 5), state, ctx));  // prompt
  for (std::int64_t t = 5; t < 11; ++t) pieces.push_back(model->forward_step(ids.slice(1, t, t + 1), state, ctx));
  pieces.push_back(model->forward_step(ids.slice(1, 11, 13), state, ctx));
  CHECK(state.position == 13);
  STRATA_REQUIRE_CLOSE(concat(pieces, 1), full, 1e-11, 1e-10);
  CHECK(state.size_bytes() > 0);
}

namespace {

// The same entries under the built-in pattern stack with the given stack keys (line 9 on).
std::string pattern_text(std::int64_t n_layers, const std::string& stack_keys) {
  std::string text = jamba_text(n_layers, stack_keys);
  const std::string jamba = "type = \"jamba\"\n";
  return text.replace(text.find(jamba), jamba.size(), "type = \"pattern\"\n");
}

}  // namespace

TEST_CASE("pattern stack: a Megatron-style layout and an attention ratio give Jamba's table", "[jamba][stack]") {
  const std::vector<std::string> jamba = layer_types(jamba_text(32));
  // Jamba's 8-layer block in Megatron's notation (REFERENCE §3.6), repeated 4 times.
  CHECK(layer_types(pattern_text(32, "layout = \"M-MEM-ME*-MEM-ME\"")) == jamba);
  // One attention layer in 8 lands in the middle of the block, as Jamba's offset 4.
  std::vector<std::string> mixers;
  for (const std::string& t : layer_types(pattern_text(8, "attention_ratio = 0.125\nffns = [\"mlp\"]")))
    mixers.push_back(t.substr(0, t.find('+')));
  CHECK(mixers == std::vector<std::string>{"mamba", "mamba", "mamba", "mamba", "attention", "mamba", "mamba", "mamba"});
  mixers.clear();
  for (const std::string& t : layer_types(pattern_text(8, "attention_ratio = 0.25\nffns = [\"mlp\"]")))
    mixers.push_back(t.substr(0, t.find('+')));
  CHECK(mixers == std::vector<std::string>{"mamba", "mamba", "attention", "mamba", "mamba", "mamba", "attention", "mamba"});
  // A layout layer without an ffn symbol has no ffn.
  CHECK(layer_types(pattern_text(2, "layout = \"M*E\"")) == std::vector<std::string>{"mamba+", "attention+moe"});
}

TEST_CASE("pattern stack: bad layouts are located errors", "[jamba][stack][errors]") {
  test::check_config_errors(
      {
          {"unknown symbol", "layout = \"M-X\"", "bad.toml:10:10", "model.stack.layout", "symbol 3 'X' is not a layer symbol",
           "M (Mamba), * (attention)"},
          {"ffn first", "layout = \"-M\"", "bad.toml:10:10", "model.stack.layout", "symbol 1 '-' is an ffn with no mixer",
           ""},
          {"two ffns in a row", "layout = \"M-E\"", "bad.toml:10:10", "model.stack.layout",
           "symbol 3 'E' is an ffn with no mixer", ""},
          {"wrong length", "layout = \"M-M-M-\"", "bad.toml:10:10", "model.stack.layout",
           "has 3 layers, which does not divide n_layers = 8", ""},
          {"layout and mixers", "layout = \"M-\"\nmixers = \"mamba\"", "bad.toml:11:10", "model.stack.mixers",
           "cannot be combined with layout", ""},
          {"ratio above 1", "attention_ratio = 1.5", "bad.toml:10:19", "model.stack.attention_ratio", "out of range", ""},
      },
      [](const std::string& keys) { return pattern_text(8, keys); }, test::hybrid_registry());
}
