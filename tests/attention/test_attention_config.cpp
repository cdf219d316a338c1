// Bad attention configs: each is a located config error (file:line:col of the offending
// key) with a message and a hint, raised either by the validator or by the factory.
#include <string>
#include <vector>

#include "attention_registry.h"
#include "catch.h"
#include "config_error_cases.h"
#include "strata/experiment.h"

using namespace strata;

namespace {

// Lines 1-16; the attention keys under test start on line 14.
std::string experiment(const std::string& attention_keys) {
  return "[task]\n"                   // 1
         "type = \"copy\"\n"          // 2
         "n_symbols = 8\n"            // 3
         "copy_len = 4\n"             // 4
         "\n"                         // 5
         "[model]\n"                  // 6
         "d_model = 24\n"             // 7
         "n_layers = 2\n"             // 8
         "\n"                         // 9
         "[model.ffn.F]\n"            // 10
         "type = \"mlp\"\n"           // 11
         "[model.mixer.A]\n"          // 12
         "type = \"attention\"\n" +   // 13
         attention_keys +             // 14...
         "\n[train]\nsteps = 2\n";
}

}  // namespace

TEST_CASE("attention: bad configs name file, line, column and key", "[attention][config][errors]") {
  const std::vector<test::BadConfig> cases = {
      {"d_model not divisible by n_heads", "n_heads = 5", "bad.toml:14:11", "model.mixer.A.n_heads",
       "does not divide d_model = 24", "set head_dim explicitly"},
      {"n_heads not divisible by n_kv_heads", "n_heads = 6\nn_kv_heads = 4", "bad.toml:15:14",
       "model.mixer.A.n_kv_heads", "does not divide n_heads = 6", "use a divisor of n_heads"},
      {"window = 0", "window = 0", "bad.toml:14:10", "model.mixer.A.window", "out of range", ""},
      {"negative window", "window = -8", "bad.toml:14:10", "model.mixer.A.window", "out of range", ""},
      {"window without causal", "causal = false\nwindow = 4", "bad.toml:15:10", "model.mixer.A.window",
       "needs causal = true", "set causal = true"},
      {"rope_fraction 0", "rope_fraction = 0.0", "bad.toml:14:17", "model.mixer.A.rope_fraction", "out of range", ""},
      {"rope_fraction above 1", "rope_fraction = 1.5", "bad.toml:14:17", "model.mixer.A.rope_fraction",
       "out of range", ""},
      {"rope_fraction rotating no pair", "rope_fraction = 0.1", "bad.toml:14:17", "model.mixer.A.rope_fraction",
       "rotates 0 of head_dim = 6", "head_dim * rope_fraction is even"},
      {"rope over an odd head_dim", "head_dim = 5", "bad.toml:12:1", "model.mixer.A.positions",
       "rotates 5 of head_dim = 5 channels", "or use positions = \"none\""},
      {"rope key without rope", "positions = \"none\"\nrope_theta = 1e6", "bad.toml:15:14",
       "model.mixer.A.rope_theta", "has no effect with positions = \"none\"", "set positions = \"rope\""},
      {"scaling key without scaling", "rope_factor = 4.0", "bad.toml:14:15", "model.mixer.A.rope_factor",
       "has no effect with rope_scaling = \"none\"", "choose the rope_scaling that uses it"},
      {"scaling key of another scaling", "rope_scaling = \"linear\"\nrope_factor = 2.0\nrope_beta_fast = 8.0",
       "bad.toml:16:18", "model.mixer.A.rope_beta_fast", "has no effect with rope_scaling = \"linear\"", ""},
      {"llama3 without its original context", "rope_scaling = \"llama3\"\nrope_factor = 8.0", "bad.toml:14:16",
       "model.mixer.A.rope_scaling", "needs rope_original_context", "original_max_position_embeddings"},
      {"unknown scaling", "rope_scaling = \"ntk\"", "bad.toml:14:16", "model.mixer.A.rope_scaling", "longrope", ""},
      {"longrope factors of the wrong length",
       "rope_scaling = \"longrope\"\nrope_original_context = 16\nrope_factor = 4.0\n"
       "rope_short_factor = [1.0]\nrope_long_factor = [1.0, 2.0, 3.0]",
       "bad.toml:17:21", "model.mixer.A.rope_short_factor", "has 1 factors; the 6 rotated channels make 3 pairs", ""},
      {"scaling without rope", "positions = \"none\"\nrope_scaling = \"linear\"", "bad.toml:15:16",
       "model.mixer.A.rope_scaling", "has no effect with positions = \"none\"", ""},
      {"unknown impl", "impl = \"fast\"", "bad.toml:14:8", "model.mixer.A.impl", "flash", ""},
      {"misspelt key", "n_kv_head = 2", "bad.toml:14:1", "model.mixer.A.n_kv_head", "unknown key", "n_kv_heads"},
  };
  test::check_config_errors(cases, experiment, test::attention_registry());
}

TEST_CASE("attention: a good config builds, and explicit head_dim lifts the divisibility rule", "[attention][config]") {
  const Experiment e = Experiment::from_string(experiment("n_heads = 5\nhead_dim = 8\nn_kv_heads = 5"), "good.toml",
                                               test::hermetic_options(), test::attention_registry());
  const auto objects = build_experiment(e, test::attention_registry());
  CHECK(objects.model->num_parameters() > 0);
}
