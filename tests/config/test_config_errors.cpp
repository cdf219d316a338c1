// The matrix of bad experiment files: each case is the small valid experiment below with
// one defect, and says where the error must point (file:line:col), which key it names,
// and what its message and hint must say. A regression in any of them fails its case by
// name. Positions are counted by hand from the numbered base; columns are 1-based.
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "catch.h"
#include "registry_helpers.h"
#include "strata/experiment.h"

using namespace strata;

namespace {

// The valid base. Line numbers, as the cases below count them:
//    1 [task]
//    2 type = "copy"
//    3 n_symbols = 8         vocabulary 8 + 2 = 10
//    4 copy_len = 4          sequence 2 * 4 + 0 = 8 tokens
//    5 n_blanks = 0
//    6
//    7 [model]
//    8 d_model = 16
//    9 n_layers = 2
//   10
//   11 [model.mixer.C]
//   12 type = "shortconv"
//   13 kernel_size = 3
//   14
//   15 [model.ffn.F]
//   16 type = "mlp"
//   17
//   18 [train]
//   19 steps = 10
//   20 batch_size = 4
//   21 lr = 0.003
//   22 warmup_steps = 2
//   23 schedule = "cosine"
//   (appended text starts on line 24)
const std::vector<std::string> kBaseLines = {
    "[task]",
    "type = \"copy\"",
    "n_symbols = 8",
    "copy_len = 4",
    "n_blanks = 0",
    "",
    "[model]",
    "d_model = 16",
    "n_layers = 2",
    "",
    "[model.mixer.C]",
    "type = \"shortconv\"",
    "kernel_size = 3",
    "",
    "[model.ffn.F]",
    "type = \"mlp\"",
    "",
    "[train]",
    "steps = 10",
    "batch_size = 4",
    "lr = 0.003",
    "warmup_steps = 2",
    "schedule = \"cosine\"",
};

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  return text;
}

const std::string kBase = join_lines(kBaseLines);

// The base with line `line` (1-based) replaced by `text`.
std::string with_line(int line, const std::string& text) {
  std::vector<std::string> lines = kBaseLines;
  lines.at(std::size_t(line - 1)) = text;
  return join_lines(lines);
}

// The base with `text` appended (its first line is line 24).
std::string with_appended(const std::string& text) { return kBase + text; }

enum class Stage {
  validate,  // Experiment::from_string throws
  build,     // validation passes; build_experiment (a factory or the stack) throws
};

struct BadConfig {
  std::string name;
  std::string toml;
  std::vector<std::string> overrides;  // --set arguments
  Stage stage;
  std::string where;                  // the exact location, SourceLocation::to_string()
  std::string key_path;               // the exact dotted key the error names ("" for syntax errors)
  std::vector<std::string> message;   // substrings of the message
  std::vector<std::string> hint;      // substrings of the hint
  std::vector<std::string> not_hint;  // substrings the hint must not have
};

std::vector<BadConfig> bad_configs() {
  const Stage validate = Stage::validate, build = Stage::build;
  return {
      // ---- unknown keys and sections ------------------------------------------------
      {"of two unknown keys the first in the file is reported (TOML++ sorts keys)",
       with_line(5, "zzz = 1\naaa = 2"),
       {},
       validate,
       "bad.toml:5:1",
       "task.zzz",
       {"unknown key"},
       {},
       {}},
      {"an empty component type is reported at the type",
       with_line(12, "type = \"\""),
       {},
       validate,
       "bad.toml:12:8",
       "model.mixer.C.type",
       {"is empty: name a mixer"},
       {"known mixers: shortconv"},
       {}},
      {"lr * weight_decay >= 1 is an impossible combination",
       kBase,
       {"train.optimizer.weight_decay=2", "train.lr=0.5"},
       validate,
       "--set train.optimizer.weight_decay=2",
       "train.optimizer.weight_decay",
       {"would flip the sign of the weights"},
       {"lower weight_decay or lr"},
       {}},
      {"unknown key in [train] suggests the nearest key",
       with_line(20, "batch_sise = 4"),
       {},
       validate,
       "bad.toml:20:1",
       "train.batch_sise",
       {"unknown key"},
       {"did you mean 'batch_size'?", "valid keys of [train]: steps, batch_size, grad_accum, lr"},
       {}},
      {"unknown key in [model] suggests the nearest key",
       with_line(8, "d_modle = 16"),
       {},
       validate,
       "bad.toml:8:1",
       "model.d_modle",
       {"unknown key"},
       {"did you mean 'd_model'?", "valid keys of [model]:"},
       {}},
      {"unknown key in a mixer table suggests the plugin's key",
       with_line(13, "kernel_sise = 3"),
       {},
       validate,
       "bad.toml:13:1",
       "model.mixer.C.kernel_sise",
       {"unknown key"},
       {"did you mean 'kernel_size'?", "valid keys of mixer \"shortconv\": kernel_size, expand, gate, bias, fused"},
       {}},
      {"unknown key in the task suggests the task's key",
       with_line(4, "copylen = 4"),
       {},
       validate,
       "bad.toml:4:1",
       "task.copylen",
       {"unknown key"},
       {"did you mean 'copy_len'?", "valid keys of task \"copy\": n_symbols, copy_len, n_blanks, eval_seed"},
       {}},
      {"unknown key far from every key lists the keys without a guess",
       with_line(21, "learning_rate = 0.003"),
       {},
       validate,
       "bad.toml:21:1",
       "train.learning_rate",
       {"unknown key"},
       {"valid keys of [train]:"},
       {"did you mean"}},
      {"unknown section suggests the nearest section",
       with_appended("[tran]\nseed = 1\n"),
       {},
       validate,
       "bad.toml:24:2",
       "tran",
       {"unknown section"},
       {"did you mean [train]?", "an experiment has the sections model, task, train, plugins, run"},
       {}},
      {"a key outside every section says which section it belongs to",
       "steps = 10\n" + kBase,
       {},
       validate,
       "bad.toml:1:1",
       "steps",
       {"a key outside any section"},
       {"put it under [train]"},
       {"did you mean"}},

      // ---- wrong types ----------------------------------------------------------------
      {"a string where an integer belongs",
       with_line(9, "n_layers = \"2\""),
       {},
       validate,
       "bad.toml:9:12",
       "model.n_layers",
       {"expected an integer, got a string"},
       {},
       {}},
      {"an integral float where an integer belongs hints at the decimal point",
       with_line(19, "steps = 10.0"),
       {},
       validate,
       "bad.toml:19:9",
       "train.steps",
       {"expected an integer, got a float (10"},
       {"write it without a decimal point"},
       {}},
      {"a fractional float where an integer belongs has no decimal-point hint",
       with_line(19, "steps = 10.5"),
       {},
       validate,
       "bad.toml:19:9",
       "train.steps",
       {"expected an integer, got a float (10.5)"},
       {},
       {"decimal point"}},
      {"a boolean written as a string",
       with_line(10, "tie_embeddings = \"true\""),
       {},
       validate,
       "bad.toml:10:18",
       "model.tie_embeddings",
       {"expected a boolean (true or false), got a string"},
       {},
       {}},
      {"a list element of the wrong type points at the element",
       with_appended("[model.stack]\nmixers = [\"C\", 2]\n"),
       {},
       validate,
       "bad.toml:25:16",
       "model.stack.mixers[1]",
       {"expected a string, got an integer (2)"},
       {"strings are written in double quotes"},
       {}},
      {"a component written as a string instead of a table",
       with_line(10, "stack = \"pattern\""),
       {},
       validate,
       "bad.toml:10:9",
       "model.stack",
       {"expected a table with type = \"...\", got a string"},
       {"a stack is configured by a table: [model.stack]"},
       {}},

      // ---- ranges and choices -----------------------------------------------------------
      {"an integer below its range",
       with_line(13, "kernel_size = 0"),
       {},
       validate,
       "bad.toml:13:15",
       "model.mixer.C.kernel_size",
       {"value 0 is out of range: must be in [1, 256]"},
       {"kernel_size: width K of the causal convolution"},
       {}},
      {"a number at an exclusive lower bound",
       with_line(21, "lr = 0.0"),
       {},
       validate,
       "bad.toml:21:6",
       "train.lr",
       {"is out of range: must be in (0, 10]"},
       {"lr: peak learning rate"},
       {}},
      {"a number above its upper bound",
       with_line(21, "lr = 11"),
       {},
       validate,
       "bad.toml:21:6",
       "train.lr",
       {"value 11 is out of range: must be in (0, 10]"},
       {},
       {}},
      {"a string not among its choices suggests the nearest",
       with_line(23, "schedule = \"cosin\""),
       {},
       validate,
       "bad.toml:23:12",
       "train.schedule",
       {"\"cosin\" is not allowed: must be one of cosine, linear, constant"},
       {"did you mean \"cosine\"?"},
       {}},
      {"a component's choice suggests the nearest",
       with_line(17, "activation = \"gelu_tan\""),
       {},
       validate,
       "bad.toml:17:14",
       "model.ffn.F.activation",
       {"must be one of swiglu, gelu, gelu_tanh"},
       {"did you mean \"gelu_tanh\"?"},
       {}},

      // ---- missing things -----------------------------------------------------------------
      {"a text task without its required path points at [task]",
       "[task]\ntype = \"text\"\nseq_len = 16\n\n[model.mixer.C]\ntype = \"shortconv\"\n",
       {},
       validate,
       "bad.toml:1:1",
       "task.path",
       {"missing required key (string)"},
       {"add `path = ...` to [task]"},
       {}},
      {"no [task] (a model-only file) without a vocab_size names [model]",
       "[model]\nd_model = 16\n",
       {},
       build,
       "bad.toml:1:1",
       "model.vocab_size",
       {"but the experiment has no [task]"},
       {"set [model] vocab_size, or add a [task]"},
       {}},

      // ---- unknown component names -------------------------------------------------------
      {"unknown mixer type lists the known ones and suggests",
       with_line(12, "type = \"shortconf\""),
       {},
       validate,
       "bad.toml:12:8",
       "model.mixer.C.type",
       {"unknown mixer \"shortconf\" (known mixers: shortconv)"},
       {"did you mean \"shortconv\"?", "`strata plugins` lists what is loaded"},
       {}},
      {"unknown ffn type lists the known ones and suggests",
       with_line(16, "type = \"mlpp\""),
       {},
       validate,
       "bad.toml:16:8",
       "model.ffn.F.type",
       {"unknown ffn \"mlpp\" (known ffns: mlp)"},
       {"did you mean \"mlp\"?"},
       {}},
      {"unknown stack type lists the known ones and suggests",
       with_appended("[model.stack]\ntype = \"patern\"\n"),
       {},
       validate,
       "bad.toml:25:8",
       "model.stack.type",
       {"unknown stack \"patern\" (known stacks: pattern)"},
       {"did you mean \"pattern\"?"},
       {}},
      {"unknown task type lists the known ones and suggests",
       with_line(2, "type = \"cpy\""),
       {},
       validate,
       "bad.toml:2:8",
       "task.type",
       {"unknown task \"cpy\" (known tasks: associative_recall, copy, induction_heads, mqar, packed, selective_copy, text)"},
       {"did you mean \"copy\"?"},
       {}},

      // ---- TOML itself ----------------------------------------------------------------------
      {"a TOML syntax error is located where the parser stopped",
       with_line(9, "n_layers = = 2"),
       {},
       validate,
       "bad.toml:9:12",
       "",
       {"TOML syntax error"},
       {"see https://toml.io"},
       {}},

      // ---- impossible combinations --------------------------------------------------------
      {"warmup longer than training",
       with_line(22, "warmup_steps = 20"),
       {},
       validate,
       "bad.toml:22:16",
       "train.warmup_steps",
       {"is larger than steps (10)"},
       {"warmup must end before training does"},
       {}},
      {"a plugin path that does not exist",
       with_appended("[plugins]\npaths = [\"no-such-folder\"]\n"),
       {},
       validate,
       "bad.toml:25:9",
       "plugins.paths",
       {"plugin path not found: no-such-folder"},
       {"relative paths start from the experiment file's folder"},
       {}},
      {"a pattern naming an undeclared entry",
       with_appended("[model.stack]\nmixers = \"CX\"\n"),
       {},
       build,
       "bad.toml:25:10",
       "model.stack.mixers",
       {"names mixer \"X\", which is not declared (declared: C)"},
       {"add [model.mixer.X] or fix the pattern"},
       {}},
      {"a pattern whose length does not divide n_layers",
       with_appended("[model.stack]\nmixers = \"CCC\"\n"),
       {},
       build,
       "bad.toml:25:10",
       "model.stack.mixers",
       {"has 3 entries, which does not divide n_layers = 2"},
       {"a pattern whose length divides n_layers"},
       {}},
      {"two mixer entries and no pattern points at [model]",
       with_appended("[model.mixer.D]\ntype = \"shortconv\"\n"),
       {},
       build,
       "bad.toml:7:1",
       "model.stack.mixers",
       {"2 mixer entries are declared (C, D), so the stack must say which layer uses which"},
       {"set mixers = \"...\" with one entry name per layer"},
       {}},
      {"a convolution longer than the task's sequence",
       with_line(13, "kernel_size = 9"),
       {},
       build,
       "bad.toml:13:15",
       "model.mixer.C.kernel_size",
       {"is longer than the longest sequence (8 tokens)"},
       {"use kernel_size <= the task's sequence length"},
       {}},
      {"a vocabulary smaller than the task's",
       with_line(10, "vocab_size = 5"),
       {},
       build,
       "bad.toml:10:14",
       "model.vocab_size",
       {"is smaller than the task's vocabulary (10)"},
       {"use 0 to take the task's vocabulary"},
       {}},

      // ---- --set overrides ------------------------------------------------------------------
      {"--set of an unknown key names the --set argument",
       kBase,
       {"train.stepz=5"},
       validate,
       "--set train.stepz=5",
       "train.stepz",
       {"unknown key"},
       {"did you mean 'steps'?"},
       {}},
      {"--set into an unknown section",
       kBase,
       {"tran.steps=5"},
       validate,
       "--set tran.steps=5",
       "tran",
       {"unknown section"},
       {"did you mean [train]?"},
       {}},
      {"--set of an out-of-range value names the --set argument",
       kBase,
       {"train.lr=-1"},
       validate,
       "--set train.lr=-1",
       "train.lr",
       {"value -1 is out of range: must be in (0, 10]"},
       {},
       {}},
      {"--set of a bare word where an integer belongs names the --set argument",
       kBase,
       {"train.steps=ten"},
       validate,
       "--set train.steps=ten",
       "train.steps",
       {"expected an integer, got a string"},
       {},
       {}},
      {"--set without '=' is malformed",
       kBase,
       {"train.lr"},
       validate,
       "--set train.lr",
       "",
       {"expected KEY.PATH=VALUE"},
       {"for example --set train.lr=0.001"},
       {}},
      {"--set with an unterminated quote is not valid TOML",
       kBase,
       {"train.schedule=\"cosine"},
       validate,
       "--set train.schedule=\"cosine",
       "train.schedule",
       {"the value is not valid TOML: \"cosine"},
       {"quote strings"},
       {}},
      {"--set below a value that is not a table",
       kBase,
       {"train.lr.peak=1"},
       validate,
       "--set train.lr.peak=1",
       "train.lr",
       {"not a table, so it has no keys"},
       {},
       {}},
      {"--set with an empty key component",
       kBase,
       {"train..lr=1"},
       validate,
       "--set train..lr=1",
       "train..lr",
       {"empty component in the key path"},
       {},
       {}},
      {"the later of two --set wins, and is the one located",
       kBase,
       {"train.steps=5", "train.steps=0"},
       validate,
       "--set train.steps=0",
       "train.steps",
       {"value 0 is out of range"},
       {},
       {}},
  };
}

// The ConfigError a case throws at its stage, or a description of what happened instead.
struct Outcome {
  std::optional<ConfigError> error;
  std::string instead;
};

Outcome run_case(const BadConfig& c, ComponentRegistry& registry) {
  Outcome out;
  try {
    const Experiment e = Experiment::from_string(c.toml, "bad.toml", test::hermetic_options(c.overrides), registry);
    if (c.stage == Stage::validate) {
      out.instead = "validation passed";
      return out;
    }
    build_experiment(e, registry);
    out.instead = "validation and build passed";
  } catch (const ConfigError& e) {
    out.error = e;
  } catch (const std::exception& e) {
    out.instead = std::string("a different exception: ") + e.what();
  }
  return out;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("config errors: the base of the matrix is valid and builds", "[config][errors]") {
  auto& registry = test::example_registry();
  const Experiment e = Experiment::from_string(kBase, "bad.toml", test::hermetic_options(), registry);
  const ExperimentObjects objects = build_experiment(e, registry);
  CHECK(objects.task->seq_len() == 8);
  CHECK(objects.task->vocab_size() == 10);
  // The hand-counted positions the matrix relies on.
  CHECK(e.model.components("mixer").front().where("kernel_size").to_string() == "bad.toml:13:15");
  CHECK(e.train.where("warmup_steps").to_string() == "bad.toml:22:16");
}

TEST_CASE("config errors: each bad experiment is refused at the right place with a useful message",
          "[config][errors]") {
  auto& registry = test::example_registry();
  const std::vector<BadConfig> cases = bad_configs();
  REQUIRE(cases.size() >= 25);
  for (const BadConfig& c : cases) {
    DYNAMIC_SECTION(c.name) {
      INFO("toml:\n" << c.toml);
      const Outcome outcome = run_case(c, registry);
      INFO("instead: " << outcome.instead);
      REQUIRE(outcome.error.has_value());
      const ConfigError& e = *outcome.error;
      INFO("what(): " << e.what());
      CHECK(e.where().to_string() == c.where);
      CHECK(e.key_path() == c.key_path);
      for (const std::string& part : c.message) CHECK(contains(e.message(), part));
      for (const std::string& part : c.hint) CHECK(contains(e.hint(), part));
      for (const std::string& part : c.not_hint) CHECK_FALSE(contains(e.hint(), part));
      // The one format every config error has: "where: key.path: message\n  hint: hint".
      std::string expected = c.where + ": " + (c.key_path.empty() ? "" : c.key_path + ": ");
      CHECK(e.message().rfind(expected, 0) == 0);
      if (!e.hint().empty())
        expected = e.message() + "\n  hint: " + e.hint();
      else
        expected = e.message();
      CHECK(std::string(e.what()) == expected);
    }
  }
}

TEST_CASE("config errors: the exact text of one error, as a user reads it", "[config][errors]") {
  auto& registry = test::example_registry();
  try {
    Experiment::from_string(with_line(13, "kernel_sise = 3"), "exp.toml", test::hermetic_options(), registry);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "exp.toml:13:1: model.mixer.C.kernel_sise: unknown key\n"
          "  hint: did you mean 'kernel_size'? valid keys of mixer \"shortconv\": kernel_size, expand, gate, bias, fused");
  }
}

TEST_CASE("config errors: list elements of the wrong type or range point at the element", "[config][errors]") {
  // No built-in key is a list of integers or numbers, so a probe ffn declares some.
  ComponentRegistry registry;
  test::add_builtins_and_example(registry);
  ComponentSpec spec{ComponentKind::ffn, "probe", "declares list keys for this test", {}, {}};
  spec.schema.integer_list("widths", {8}, "per-layer widths").range(1, 64);
  registry.add(std::move(spec), [](const Config&, const BuildContext&) -> std::unique_ptr<Component> {
    return nullptr;  // never built: these experiments fail validation
  });
  const std::string head = "[task]\ntype = \"copy\"\n\n[model.ffn.P]\ntype = \"probe\"\n";  // lines 1-5
  struct ListCase {
    std::string line6, where, key_path, message, hint;
  };
  const std::vector<ListCase> cases = {
      // w i d t h s _ = _ [ 4 , _ " 8 "      columns 1..16
      {"widths = [4, \"8\"]", "list.toml:6:14", "model.ffn.P.widths[1]", "expected an integer, got a string", ""},
      {"widths = [4, 8.0]", "list.toml:6:14", "model.ffn.P.widths[1]", "expected an integer, got a float",
       "write it without a decimal point"},
      {"widths = [4, 65]", "list.toml:6:14", "model.ffn.P.widths[1]", "value 65 is out of range: must be in [1, 64]",
       "widths: per-layer widths"},
      {"widths = 4", "list.toml:6:10", "model.ffn.P.widths", "expected a list of integers, got an integer (4)", ""},
  };
  for (const ListCase& c : cases) {
    DYNAMIC_SECTION(c.line6) {
      try {
        Experiment::from_string(head + c.line6 + "\n", "list.toml", test::hermetic_options(), registry);
        FAIL("no error");
      } catch (const ConfigError& e) {
        INFO(e.what());
        CHECK(e.where().to_string() == c.where);
        CHECK(e.key_path() == c.key_path);
        CHECK(contains(e.message(), c.message));
        CHECK(e.hint().empty() == c.hint.empty());
        CHECK(contains(e.hint(), c.hint));
      }
    }
  }
}

TEST_CASE("config errors: a file's errors are located in that file", "[config][errors]") {
  auto& registry = test::example_registry();
  const auto dir = std::filesystem::temp_directory_path() / "strata_test_config_errors";
  std::filesystem::create_directories(dir);
  const auto file = dir / "typo.toml";
  {
    std::ofstream out(file);
    out << with_line(23, "schedule = \"cosin\"");
  }
  try {
    Experiment::load(file, test::hermetic_options(), registry);
    FAIL("no error");
  } catch (const ConfigError& e) {
    INFO(e.what());
    CHECK(e.where().file == file.string());
    CHECK(e.where().line == 23);
    CHECK(e.where().column == 12);
    CHECK(std::string(e.what()).rfind(file.string() + ":23:12: train.schedule: ", 0) == 0);
  }
  // A file that is not there is named, without a line.
  const auto missing = dir / "missing.toml";
  try {
    Experiment::load(missing, test::hermetic_options(), registry);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(e.where().to_string() == missing.string());
    CHECK(contains(e.message(), "experiment file not found"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("config errors: --set overrides that are valid take effect", "[config][errors]") {
  auto& registry = test::example_registry();
  SECTION("a number replaces the file's value and is located at the --set argument") {
    const Experiment e =
        Experiment::from_string(kBase, "base.toml", test::hermetic_options({"train.lr=0.01"}), registry);
    CHECK(e.train.number("lr") == Approx(0.01));
    CHECK(e.train.where("lr").to_string() == "--set train.lr=0.01");
    CHECK(e.train.where("steps").to_string() == "base.toml:19:9");  // the others stay the file's
  }
  SECTION("a bare word becomes a string: it turns an invalid task into a valid one") {
    // a text task without a path is refused; --set task.type=copy makes it the copy task
    const std::string text_task = with_line(2, "type = \"text\"");
    const std::string without_copy_keys =
        text_task.substr(0, text_task.find("n_symbols")) + text_task.substr(text_task.find("\n[model]") + 1);
    CHECK_THROWS_AS(Experiment::from_string(without_copy_keys, "base.toml", test::hermetic_options(), registry),
                    ConfigError);
    const Experiment e =
        Experiment::from_string(without_copy_keys, "base.toml", test::hermetic_options({"task.type=copy"}), registry);
    CHECK(e.task.type() == "copy");
    CHECK(e.task.integer("copy_len") == 8);  // the copy task's default
  }
  SECTION("the later of two --set wins; a new key and a new table can be added") {
    const Experiment e = Experiment::from_string(
        kBase, "base.toml",
        test::hermetic_options({"train.steps=5", "train.steps=7", "train.seed=3", "model.stack.mixers=C"}), registry);
    CHECK(e.train.integer("steps") == 7);
    CHECK(e.train.integer("seed") == 3);
    CHECK(e.model.component("stack").strings("mixers") == std::vector<std::string>{"C"});
  }
}
