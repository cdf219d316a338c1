// Sweeps: the [sweep] section and --sweep arguments become axes; the grid expands to one
// variant per combination with a readable, unique folder name; bad axes are located errors.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "registry_helpers.h"
#include "strata/config.h"
#include "strata/sweep.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path file = test::fresh_temp_dir("sweep", name) / "experiment.toml";
  std::ofstream(file) << text;
  return file;
}

}  // namespace

TEST_CASE("sweep: [sweep] axes in file order, seeds as train.seed, values as TOML text", "[sweep]") {
  const fs::path file = write_file("axes",
                                   "[model]\nd_model = 8\n"
                                   "[sweep]\n"
                                   "\"model.d_model\" = [16, 32]\n"
                                   "\"model.mixer.C.type\" = [\"shortconv\", \"other\"]\n"
                                   "seeds = [0, 1, 2]\n");
  const std::vector<SweepAxis> axes = read_sweep_axes(file);
  REQUIRE(axes.size() == 3);
  CHECK(axes[0].key == "model.d_model");
  CHECK(axes[0].values == std::vector<std::string>{"16", "32"});
  CHECK(axes[1].values == std::vector<std::string>{"\"shortconv\"", "\"other\""});
  CHECK(axes[2].key == "train.seed");
  CHECK(axes[0].where.line == 4);

  const std::vector<SweepVariant> variants = expand_sweep(axes);
  REQUIRE(variants.size() == 12);
  CHECK(variants[0].name == "d_model-16_type-shortconv_seed-0");
  CHECK(variants[1].name == "d_model-16_type-shortconv_seed-1");
  CHECK(variants[11].name == "d_model-32_type-other_seed-2");
  CHECK(variants[11].overrides() ==
        std::vector<std::string>{"model.d_model=32", "model.mixer.C.type=\"other\"", "train.seed=2"});
  std::set<std::string> names;
  for (const auto& v : variants) names.insert(v.name);
  CHECK(names.size() == 12);
  CHECK(read_sweep_axes(write_file("none", "[model]\nd_model = 8\n")).empty());
}

TEST_CASE("sweep: --sweep arguments split at top-level commas", "[sweep]") {
  const SweepAxis a = parse_sweep_argument("model.d_model=32,64");
  CHECK(a.key == "model.d_model");
  CHECK(a.values == std::vector<std::string>{"32", "64"});
  const SweepAxis lists = parse_sweep_argument("model.ffn.moe.balance=[{ type = \"z_loss\", alpha = 1e-3 }],[]");
  CHECK(lists.values == std::vector<std::string>{"[{ type = \"z_loss\", alpha = 1e-3 }]", "[]"});
  // Floats are named with 6 significant digits.
  CHECK(expand_sweep({parse_sweep_argument("train.lr=0.00046415999999999997,1e-3")})[0].name == "lr-0.00046416");
  const SweepAxis strings = parse_sweep_argument("task.type=\"a,b\",copy");
  CHECK(strings.values == std::vector<std::string>{"\"a,b\"", "copy"});
  // Two keys with the same last part still get distinct folder names.
  const auto variants = expand_sweep({parse_sweep_argument("model.mixer.A.d_state=4"),
                                      parse_sweep_argument("model.mixer.B.d_state=4")});
  REQUIRE(variants.size() == 1);
  CHECK(variants[0].name == "d_state-4_d_state-4");
}

TEST_CASE("sweep: bad axes are errors at their place", "[sweep][errors]") {
  CHECK_THROWS_WITH(read_sweep_axes(write_file("scalar", "[sweep]\n\"model.d_model\" = 32\n")),
                    Catch::Contains("experiment.toml:2:1: sweep.model.d_model: must be a non-empty list"));
  CHECK_THROWS_WITH(read_sweep_axes(write_file("empty", "[sweep]\n\"train.lr\" = []\n")),
                    Catch::Contains("must be a non-empty list"));
  CHECK_THROWS_WITH(read_sweep_axes(write_file("variant_empty", "[sweep.variants.a]\n")),
                    Catch::Contains("sweep.variants.a: must be a table of the keys this variant sets"));
  CHECK_THROWS_WITH(read_sweep_axes(write_file("variants_scalar", "[sweep]\nvariants = 3\n")),
                    Catch::Contains("must hold [sweep.variants.NAME] tables"));
  CHECK_THROWS_WITH(read_sweep_axes(write_file("not_table", "sweep = 3\n")), Catch::Contains("must be a table"));
  CHECK_THROWS_WITH(parse_sweep_argument("model.d_model"), Catch::Contains("expected KEY.PATH=V1,V2"));
  CHECK_THROWS_WITH(parse_sweep_argument("model.d_model=32,,64"), Catch::Contains("empty value"));
  CHECK_THROWS_WITH(expand_sweep({parse_sweep_argument("train.seed=1,2"), parse_sweep_argument("train.seed=3")}),
                    Catch::Contains("is swept twice"));
}

TEST_CASE("sweep: unquoted dotted keys and named variants", "[sweep]") {
  const fs::path file = write_file("variants",
                                   "[sweep]\n"
                                   "model.d_model = [16, 32]\n"
                                   "seeds = [0, 1]\n"
                                   "[sweep.variants.attention]\n"
                                   "model.stack.mixers = \"A\"\n"
                                   "[sweep.variants.mamba]\n"
                                   "model.stack.mixers = \"M\"\n"
                                   "model.mixer.M.d_state = 8\n"
                                   "model.ffn.E.router = { type = \"hash\" }\n");
  const std::vector<SweepAxis> axes = read_sweep_axes(file);
  REQUIRE(axes.size() == 3);
  CHECK(axes[0].key == "variant");
  CHECK(axes[0].values == std::vector<std::string>{"\"attention\"", "\"mamba\""});
  CHECK(axes[1].key == "model.d_model");
  CHECK(axes[1].where.line == 2);
  CHECK(axes[2].key == "train.seed");
  const std::vector<SweepVariant> variants = expand_sweep(axes);
  REQUIRE(variants.size() == 8);
  CHECK(variants[0].name == "attention_d_model-16_seed-0");
  CHECK(variants[7].name == "mamba_d_model-32_seed-1");
  // A named variant applies its own keys (tables flattened), not a "variant" key.
  // An inline table is one value: it replaces the router table rather than merging keys.
  CHECK(variants[7].overrides() == std::vector<std::string>{"model.stack.mixers=\"M\"", "model.mixer.M.d_state=8",
                                                            "model.ffn.E.router={ type = \"hash\" }",
                                                            "model.d_model=32", "train.seed=1"});
  CHECK(variants[7].settings.front() == std::pair<std::string, std::string>{"variant", "\"mamba\""});
}

TEST_CASE("sweep: a base value every variant replaces is still checked, and a variant's error points at its line",
          "[sweep][errors]") {
  auto& registry = test::example_registry();
  // Lines 1-8, then the sweep from line 9.
  const auto experiment = [](const char* kernel_size, const char* sweep) {
    std::string text("[task]\ntype = \"copy\"\n[model]\nd_model = 16\nn_layers = 1\n[model.mixer.C]\n"
                     "type = \"shortconv\"\nkernel_size = ");
    return text.append(kernel_size).append("\n").append(sweep);
  };
  {
    // Line 8's value is a typo, though every variant replaces it.
    const std::string text = experiment("\"three\"", "[sweep]\nmodel.mixer.C.kernel_size = [2, 3]\n");
    const fs::path file = write_file("base_typo", text);
    for (const SweepVariant& v : expand_sweep(read_sweep_axes(file)))
      CHECK_NOTHROW(load_sweep_variant(file, test::hermetic_options(), v, read_sweep_axes(file), registry));
    try {
      validate_sweep_base(file, test::hermetic_options(), registry);
      FAIL("the base's typo was accepted");
    } catch (const ConfigError& e) {
      CHECK(e.where().line == 8);
      CHECK(std::string(e.what()).find("in the experiment itself (before any sweep value)") != std::string::npos);
    }
  }
  {
    const std::string text = experiment("3",
                                        "[sweep.variants.good]\n"            // 9
                                        "model.d_model = 32\n"               // 10
                                        "[sweep.variants.bad]\n"             // 11
                                        "model.n_layers = 1\n"               // 12
                                        "model.mixer.C.kernel_size = 0\n");  // 13
    const fs::path file = write_file("variant_error", text);
    CHECK_NOTHROW(validate_sweep_base(file, test::hermetic_options(), registry));
    const std::vector<SweepAxis> axes = read_sweep_axes(file);
    const std::vector<SweepVariant> variants = expand_sweep(axes);
    REQUIRE(variants.size() == 2);
    CHECK_NOTHROW(load_sweep_variant(file, test::hermetic_options(), variants[0], axes, registry));
    try {
      load_sweep_variant(file, test::hermetic_options(), variants[1], axes, registry);
      FAIL("the bad variant was accepted");
    } catch (const ConfigError& e) {
      // Its own line in [sweep.variants.bad], not a --set argument.
      CHECK(e.where().file == file.string());
      CHECK(e.where().line == 13);
      CHECK(std::string(e.what()).find("in sweep variant bad") != std::string::npos);
    }
  }
}
