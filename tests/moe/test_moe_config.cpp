// Bad moe configs: each is a located config error (file:line:col of the offending key).
#include <string>
#include <vector>

#include "catch.h"
#include "config_error_cases.h"
#include "moe_registry.h"
#include "strata/experiment.h"

using namespace strata;

namespace {

// Lines 1-13; the moe keys under test start on line 12.
std::string experiment(const std::string& moe_keys) {
  return "[task]\n"                    // 1
         "type = \"copy\"\n"           // 2
         "n_symbols = 8\n"             // 3
         "copy_len = 4\n"              // 4
         "\n"                          // 5
         "[model]\n"                   // 6
         "d_model = 16\n"              // 7
         "[model.mixer.A]\n"           // 8
         "type = \"attention\"\n"      // 9
         "[model.ffn.E]\n"             // 10
         "type = \"moe\"\n" +          // 11
         moe_keys +                    // 12...
         "\n[train]\nsteps = 2\n";
}

}  // namespace

TEST_CASE("moe: bad configs name file, line, column and key", "[moe][config][errors]") {
  const std::vector<test::BadConfig> cases = {
      {"top_k above n_experts", "n_experts = 4\ntop_k = 5", "bad.toml:13:9", "model.ffn.E.top_k",
       "exceeds n_experts = 4", "top_k <= n_experts"},
      {"top_k 0", "top_k = 0", "bad.toml:12:9", "model.ffn.E.top_k", "out of range", ""},
      {"negative capacity", "capacity_factor = -1.0", "bad.toml:12:19", "model.ffn.E.capacity_factor",
       "out of range", ""},
      {"drop policy without capacity", "drop_policy = \"position\"", "bad.toml:12:15", "model.ffn.E.drop_policy",
       "has no effect without a capacity", "capacity_factor > 0"},
      {"unknown router", "router = { type = \"softmax_top2\" }", "bad.toml:12:19", "model.ffn.E.router.type",
       "softmax_topk", ""},
      {"unknown balance term", "balance = [{ type = \"switch_loss\" }]", "bad.toml:12:21", "model.ffn.E.balance[0].type",
       "switch_aux", ""},
      {"switch router with top_k 2", "router = { type = \"switch\" }", "bad.toml:12:10", "model.ffn.E.router.type",
       "asks top_k = 2", "top_k = 1"},
      {"bad normalization", "balance = [{ type = \"switch_aux\", normalization = \"megatron\" }]", "bad.toml:12:51",
       "model.ffn.E.balance[0].normalization", "topk", ""},
      {"misspelt router key", "router = { type = \"softmax_topk\", renormalise = false }", "bad.toml:12:35",
       "model.ffn.E.router.renormalise", "unknown key", "renormalize"},
  };
  test::check_config_errors(cases, experiment, test::moe_registry());
}
