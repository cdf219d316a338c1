// The config layer's own behaviour: schema declarations, validated values and defaults,
// the resolved TOML, suggestions and --set parsing. (The matrix of bad experiment files
// lives in test_config_errors.cpp.)
#include <sstream>

#include "catch.h"
#include "registry_helpers.h"
#include "strata/experiment.h"
#include "strata/testing/component_check.h"

using namespace strata;

namespace {
const char* kBase = R"(
[task]
type = "copy"
copy_len = 4

[model]
d_model = 16
n_layers = 2

[model.mixer.C]
type = "shortconv"
kernel_size = 3

[model.ffn.F]
type = "mlp"
)";
}  // namespace

TEST_CASE("config: edit distance and nearest names", "[config]") {
  CHECK(edit_distance("kernel_sise", "kernel_size") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("Steps", "steps") == 0);  // case-insensitive
  CHECK(edit_distance("stpes", "steps") == 1);  // a swap of neighbours is one edit
  CHECK(nearest_name("trian", {"model", "train", "task"}) == "train");
  CHECK(nearest_name("kernal_size", {"expand", "kernel_size", "gate"}) == "kernel_size");
  CHECK(nearest_name("zzzzzz", {"expand", "kernel_size", "gate"}).empty());  // not a plausible typo
  CHECK(join_names({}) == "(none)");
  CHECK(join_names({"a", "b"}) == "a, b");
}

TEST_CASE("config: schema constraints and defaults render for documentation", "[config]") {
  ConfigSchema s;
  ConfigKey& k = s.integer("kernel_size", 4, "width").range(1, 64);
  CHECK(k.constraint() == "in [1, 64]");
  CHECK(k.default_string() == "4");
  CHECK(s.number("lr", 1e-3, "rate").greater_than(0).constraint() == "> 0");
  CHECK(s.string("act", "swiglu", "").one_of({"swiglu", "gelu"}).constraint() == "one of swiglu, gelu");
  CHECK(s.required("path", ConfigType::string, "").default_string().empty());
  CHECK(s.optional("pattern", ConfigType::symbols, "").default_string() == "(none)");
  CHECK_THROWS_AS(s.integer("kernel_size", 1, "again"), ValueError);
}

TEST_CASE("config: validated values, defaults, has() and where()", "[config]") {
  auto& registry = test::example_registry();
  const Experiment e = Experiment::from_string(kBase, "base.toml", {}, registry);
  CHECK(e.model.integer("d_model") == 16);
  CHECK(e.model.has("d_model"));
  CHECK_FALSE(e.model.has("norm"));
  CHECK(e.model.string("norm") == "rmsnorm");  // default
  CHECK(e.train.number("lr") == Approx(3e-3));
  const auto& mixers = e.model.component_names("mixer");
  REQUIRE(mixers == std::vector<std::string>{"C"});
  const Config& c = e.model.components("mixer").front();
  CHECK(c.type() == "shortconv");
  CHECK(c.path() == "model.mixer.C");
  CHECK(c.integer("kernel_size") == 3);
  CHECK(c.integer("expand") == 1);
  CHECK(c.where("kernel_size").to_string() == "base.toml:12:15");
  CHECK(e.model.component("stack").type() == "pattern");  // the default component
  // Reading an undeclared key is a programming error with a clear message.
  CHECK_THROWS_WITH(c.integer("kernel"), Catch::Contains("not declared in the schema of [model.mixer.C]"));
  CHECK_THROWS_WITH(c.string("kernel_size"), Catch::Contains("read it with the matching accessor"));
  // A factory's own error is located at the key.
  const ConfigError err = c.error("kernel_size", "too long", "shorten it");
  CHECK(std::string(err.what()) == "base.toml:12:15: model.mixer.C.kernel_size: too long\n  hint: shorten it");
}

TEST_CASE("config: component maps keep the file's order", "[config]") {
  auto& registry = test::example_registry();
  const std::string text = std::string(kBase) + R"(
[model.mixer.Z]
type = "shortconv"
[model.mixer.A]
type = "shortconv"
[model.stack]
mixers = "ZCA"
)";
  ExperimentOptions options;
  options.overrides = {"model.n_layers=3"};
  const Experiment e = Experiment::from_string(text, "order.toml", options, registry);
  CHECK(e.model.component_names("mixer") == std::vector<std::string>{"C", "Z", "A"});
  CHECK(e.model.component("stack").strings("mixers") == std::vector<std::string>{"Z", "C", "A"});
}

TEST_CASE("config: --set values are read as TOML, bare words as strings", "[config]") {
  auto& registry = test::example_registry();
  ExperimentOptions o;
  o.overrides = {"train.lr=0.01", "model.norm=layernorm", "model.mixer.C.gate=false", "train.schedule=\"linear\"",
                 "model.stack.mixers=[\"C\", \"C\"]"};
  const Experiment e = Experiment::from_string(kBase, "base.toml", o, registry);
  CHECK(e.train.number("lr") == Approx(0.01));
  CHECK(e.model.string("norm") == "layernorm");
  CHECK_FALSE(e.model.components("mixer").front().boolean("gate"));
  CHECK(e.train.string("schedule") == "linear");
  CHECK(e.model.component("stack").strings("mixers") == std::vector<std::string>{"C", "C"});
  CHECK(e.train.where("lr").file == "--set train.lr=0.01");
}

TEST_CASE("config: the resolved TOML holds every default and reads back the same", "[config]") {
  auto& registry = test::example_registry();
  const Experiment e = Experiment::from_string(kBase, "base.toml", {}, registry);
  const std::string resolved = e.resolved_toml();
  CHECK(resolved.find("weight_decay = 0.01") != std::string::npos);
  CHECK(resolved.find("[model.mixer.C]") != std::string::npos);
  CHECK(resolved.find("expand = 1") != std::string::npos);
  const Experiment again = Experiment::from_string(resolved, "resolved.toml", {}, registry);
  const std::string twice = again.resolved_toml();
  CHECK(twice.substr(twice.find('\n')) == resolved.substr(resolved.find('\n')));  // all but the "from" line
}

TEST_CASE("config: component_config validates a component's own keys", "[config]") {
  auto& registry = test::example_registry();
  const Config c = testing::component_config(registry, ComponentKind::mixer, "shortconv", {"kernel_size=2"});
  CHECK(c.integer("kernel_size") == 2);
  CHECK_THROWS_WITH(testing::component_config(registry, ComponentKind::mixer, "shortconv", {"kernel_size=0"}),
                    Catch::Contains("out of range: must be in [1, 256]"));
}

TEST_CASE("config: multi-byte pattern symbols, escaped strings, one value per --set", "[config]") {
  auto& registry = test::example_registry();
  const std::string text = std::string(kBase) + R"(
[model.mixer."Ä"]
type = "shortconv"
[model.stack]
mixers = "ÄC"
[run]
name = "tab\there"
)";
  const Experiment e = Experiment::from_string(text, "utf8.toml", {}, registry);
  CHECK(e.model.component("stack").strings("mixers") == std::vector<std::string>{"Ä", "C"});
  // The resolved TOML escapes control characters and reads back the same value.
  const Experiment again = Experiment::from_string(e.resolved_toml(), "again.toml", {}, registry);
  CHECK(again.run.string("name") == "tab\there");
  ExperimentOptions o;
  o.overrides = {"train.lr=1\ntrain.steps=2"};
  CHECK_THROWS_WITH(Experiment::from_string(kBase, "base.toml", o, registry),
                    Catch::Contains("--set train.lr=1") && Catch::Contains("must be a single TOML value"));
  CHECK_THROWS_WITH(testing::component_config(registry, ComponentKind::mixer, "shortconv", {"type=mlp"}),
                    Catch::Contains("the component is named by the command's argument"));
  // Found by fuzz_experiment: a bare word that is not UTF-8 escaped as a parse error of the
  // TOML library instead of a ConfigError naming the --set argument.
  o.overrides = {"run.name=\xff\xfe"};
  CHECK_THROWS_AS(Experiment::from_string(kBase, "base.toml", o, registry), ConfigError);
  CHECK_THROWS_WITH(Experiment::from_string(kBase, "base.toml", o, registry), Catch::Contains("the value is not valid"));
}
