// Bad mamba configs: each is a located config error (file:line:col of the offending key)
// with a message and a hint, raised either by the validator or by the factory.
#include <string>
#include <vector>

#include "catch.h"
#include "config_error_cases.h"
#include "mamba_registry.h"
#include "strata/experiment.h"

using namespace strata;

namespace {

// Lines 1-11; the mamba keys under test start on line 10.
std::string experiment(const std::string& mamba_keys) {
  return "[task]\n"               // 1
         "type = \"copy\"\n"      // 2
         "n_symbols = 8\n"        // 3
         "copy_len = 4\n"         // 4
         "\n"                     // 5
         "[model]\n"              // 6
         "d_model = 24\n"         // 7
         "[model.mixer.M]\n"      // 8
         "type = \"mamba\"\n" +   // 9
         mamba_keys +             // 10...
         "\n[train]\nsteps = 2\n";
}

}  // namespace

TEST_CASE("mamba: bad configs name file, line, column and key", "[mamba][config][errors]") {
  const std::vector<test::BadConfig> cases = {
      {"d_state 0", "d_state = 0", "bad.toml:10:11", "model.mixer.M.d_state", "out of range", ""},
      {"d_conv 0", "d_conv = 0", "bad.toml:10:10", "model.mixer.M.d_conv", "out of range", ""},
      {"negative expand", "expand = -1", "bad.toml:10:10", "model.mixer.M.expand", "out of range", ""},
      {"d_state not an integer", "d_state = 1.5", "bad.toml:10:11", "model.mixer.M.d_state", "integer", ""},
      {"inner_norms not a boolean", "inner_norms = 1", "bad.toml:10:15", "model.mixer.M.inner_norms",
       "expected a boolean", ""},
      {"dt_min a string", "dt_min = \"0.01\"", "bad.toml:10:10", "model.mixer.M.dt_min", "expected a number", ""},
      {"d_inner 0", "d_inner = 0", "bad.toml:10:11", "model.mixer.M.d_inner", "out of range", ""},
      {"dt_min above dt_max", "dt_min = 0.5\ndt_max = 0.1", "bad.toml:11:10", "model.mixer.M.dt_max",
       "must be below dt_max", "log-uniformly"},
      {"dt_min above the default dt_max", "dt_min = 0.2", "bad.toml:10:10", "model.mixer.M.dt_min",
       "must be below dt_max", ""},
      {"dt_min = dt_max", "dt_min = 0.1", "bad.toml:10:10", "model.mixer.M.dt_min", "empty range", ""},
      {"negative dt_min", "dt_min = -0.01", "bad.toml:10:10", "model.mixer.M.dt_min", "out of range", ""},
      {"floor above dt_max", "dt_init_floor = 0.5", "bad.toml:10:17", "model.mixer.M.dt_init_floor",
       "is not below dt_max", ""},
      {"d_inner and expand", "expand = 2\nd_inner = 64", "bad.toml:11:11", "model.mixer.M.d_inner",
       "both set the inner width", "give one of them"},
      {"norm_eps without inner norms", "norm_eps = 1e-5", "bad.toml:10:12", "model.mixer.M.norm_eps",
       "has no effect without inner_norms", "set inner_norms = true"},
      {"unknown dt_init", "dt_init = \"normal\"", "bad.toml:10:11", "model.mixer.M.dt_init", "random", ""},
      {"misspelt key", "dstate = 8", "bad.toml:10:1", "model.mixer.M.dstate", "unknown key", "d_state"},
      {"dt_rank 0", "dt_rank = 0", "bad.toml:10:11", "model.mixer.M.dt_rank", "out of range", ""},
  };
  test::check_config_errors(cases, experiment, test::mamba_registry());
}

TEST_CASE("mamba: a good config with every key builds", "[mamba][config]") {
  const Experiment e = Experiment::from_string(
      experiment("d_state = 8\nd_conv = 3\nd_inner = 40\ndt_rank = 3\ndt_min = 0.01\ndt_max = 0.2\n"
                 "dt_init_floor = 1e-3\ndt_init = \"constant\"\ndt_scale = 0.5\nconv_bias = false\n"
                 "proj_bias = true\ninner_norms = true\nnorm_eps = 1e-5"),
      "good.toml", test::hermetic_options(), test::mamba_registry());
  const auto objects = build_experiment(e, test::mamba_registry());
  CHECK(objects.model->num_parameters() > 0);
}
