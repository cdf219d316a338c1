// The built-in tasks: batch layout, scored positions, fixed evaluation sets, errors.
#include <filesystem>
#include <fstream>

#include <cmath>
#include "catch.h"
#include "helpers.h"
#include "registry_helpers.h"

#include "strata/experiment.h"
#include "strata/packing.h"
#include "strata/tokenizer.h"
#include "strata/testing/component_check.h"
#include "strata/trainer.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {
std::shared_ptr<Task> make_task(const std::string& type, const std::vector<std::string>& keys) {
  static ComponentRegistry registry;
  static bool ready = false;
  if (!ready) {
    register_builtin_components(registry);
    ready = true;
  }
  Generator gen(0);
  BuildContext ctx;
  ctx.gen = &gen;
  ctx.registry = &registry;
  return registry.create<Task>(testing::component_config(registry, ComponentKind::task, type, keys), ctx);
}

// A temporary text file with `bytes` bytes of a repeating sentence.
fs::path text_file(std::size_t bytes) {
  const fs::path p = fs::temp_directory_path() / ("strata_text_task_" + std::to_string(bytes) + ".txt");
  std::ofstream out(p, std::ios::binary);
  const std::string sentence = "the quick brown fox jumps over the lazy dog. ";
  for (std::size_t i = 0; i < bytes; ++i) out << sentence[i % sentence.size()];
  return p;
}

// A small text experiment: `task_keys` lines after type and path, a two-layer shortconv
// model, `steps` training steps.
std::string text_experiment(const std::string& task_keys, int steps) {
  return "[task]\ntype = \"text\"\npath = \"" + std::string(STRATA_TEXT_FIXTURE) + "\"\n" + task_keys + R"(
seq_len = 32
[model]
d_model = 32
n_layers = 2
[model.mixer.C]
type = "shortconv"
[model.ffn.F]
type = "mlp"
[train]
steps = )" + std::to_string(steps) + R"(
batch_size = 16
lr = 0.01
eval_every = 0
eval_batches = 2
)";
}
}  // namespace

TEST_CASE("copy task: data, blanks, markers, and targets only at the markers", "[tasks]") {
  auto task = make_task("copy", {"n_symbols=5", "copy_len=3", "n_blanks=2"});
  CHECK(task->vocab_size() == 7);
  CHECK(task->seq_len() == 8);
  CHECK(task->chance_accuracy() == Approx(0.2));
  Generator gen(1);
  const Batch b = task->train_batch(4, gen);
  REQUIRE(b.inputs.shape() == Shape{4, 8});
  const auto in = b.inputs.to_vector<std::int64_t>(), tg = b.targets.to_vector<std::int64_t>();
  for (int s = 0; s < 4; ++s) {
    for (int t = 0; t < 8; ++t) {
      const std::int64_t x = in[std::size_t(s * 8 + t)], y = tg[std::size_t(s * 8 + t)];
      if (t < 3) {
        CHECK((x >= 1 && x <= 5));
        CHECK(y == -100);
      } else if (t < 5) {
        CHECK(x == 0);
        CHECK(y == -100);
      } else {
        CHECK(x == 6);                               // marker
        CHECK(y == in[std::size_t(s * 8 + t - 5)]);  // the data token M + n_blanks back
      }
    }
  }
}

TEST_CASE("copy task: the evaluation set is fixed, training batches are fresh", "[tasks]") {
  auto task = make_task("copy", {});
  const Batch e1 = task->eval_batch(2, 8), e2 = task->eval_batch(2, 8), e3 = task->eval_batch(3, 8);
  CHECK(e1.inputs.to_vector<std::int64_t>() == e2.inputs.to_vector<std::int64_t>());
  CHECK(e1.inputs.to_vector<std::int64_t>() != e3.inputs.to_vector<std::int64_t>());
  Generator gen(5);
  const Batch t1 = task->train_batch(8, gen), t2 = task->train_batch(8, gen);
  CHECK(t1.inputs.to_vector<std::int64_t>() != t2.inputs.to_vector<std::int64_t>());

  // The trainer's data stream for train.seed s is Generator(2 s + 1) from counter 0: with
  // eval_seed = 1 (seed 0's stream key) the evaluation set must still be other examples.
  auto same_key = make_task("copy", {"eval_seed=1"});
  Generator train_stream(1);
  CHECK(same_key->train_batch(16, train_stream).inputs.to_vector<std::int64_t>() !=
        same_key->eval_batch(0, 16).inputs.to_vector<std::int64_t>());
}

TEST_CASE("text task: next-byte targets, split, perplexity", "[tasks]") {
  const fs::path file = text_file(5000);
  auto task = make_task("text", {"path=\"" + file.string() + "\"", "seq_len=16", "valid_fraction=0.2"});
  CHECK(task->vocab_size() == 256);
  CHECK(task->reports_perplexity());
  Generator gen(2);
  const Batch b = task->train_batch(3, gen);
  const auto in = b.inputs.to_vector<std::int64_t>(), tg = b.targets.to_vector<std::int64_t>();
  for (int s = 0; s < 3; ++s)
    for (int t = 0; t + 1 < 16; ++t) CHECK(tg[std::size_t(s * 16 + t)] == in[std::size_t(s * 16 + t + 1)]);
  // Evaluation windows come from the last 20% (bytes 4000..4999): the same every time.
  const Batch e = task->eval_batch(0, 2);
  CHECK(e.inputs.to_vector<std::int64_t>() == task->eval_batch(0, 2).inputs.to_vector<std::int64_t>());
  fs::remove(file);
}

TEST_CASE("text task: a missing or too short file is a located config error", "[tasks]") {
  CHECK_THROWS_WITH(make_task("text", {"path=\"/nonexistent/corpus.txt\""}),
                    Catch::Contains("/nonexistent/corpus.txt is not a readable file"));
  CHECK_THROWS_WITH(make_task("text", {"path=\"" + fs::temp_directory_path().string() + "\""}),
                    Catch::Contains("is not a readable file (a folder)"));
  const fs::path file = text_file(100);
  CHECK_THROWS_WITH(make_task("text", {"path=\"" + file.string() + "\"", "seq_len=64"}),
                    Catch::Contains("too short for seq_len = 64"));
  fs::remove(file);
}

TEST_CASE("text task: a small byte-level model lowers validation perplexity", "[tasks][training]") {
  ComponentRegistry& registry = test::example_registry();
  const std::string text = text_experiment("", 80);
  const Experiment e = Experiment::from_string(text, "text.toml", test::hermetic_options(), registry);
  const auto objects = build_experiment(e, registry);
  const TrainSummary s = train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train);
  INFO("perplexity " << s.initial_eval.perplexity << " -> " << s.final_eval.perplexity);
  CHECK(s.initial_eval.perplexity > 200);  // about uniform over 256 bytes at initialisation
  CHECK(s.final_eval.perplexity < 0.2 * s.initial_eval.perplexity);
  CHECK(s.final_eval.perplexity == Approx(std::exp(s.final_eval.loss)));
}

TEST_CASE("text task with a tokenizer: its ids are the tokenizer's, and a small model learns", "[tasks][training]") {
  const fs::path file = STRATA_TEXT_FIXTURE;
  const fs::path tokenizer_folder = fs::path(STRATA_TOKENIZER_FIXTURES_DIR) / "llama3";
  const auto tokenizer = load_tokenizer(tokenizer_folder);
  const auto task = make_task("text", {"path=\"" + file.string() + "\"", "tokenizer=\"" + tokenizer_folder.string() + "\"",
                                       "seq_len=24"});
  CHECK(task->vocab_size() == tokenizer->vocab_size());
  REQUIRE(task->tokenizer() != nullptr);
  CHECK(task->tokenizer()->source().filename() == "tokenizer.json");
  // An evaluation window decodes to a stretch of the file, and targets are inputs shifted by one.
  const Batch b = task->eval_batch(0, 2);
  const auto inputs = b.inputs.to_vector<std::int64_t>(), targets = b.targets.to_vector<std::int64_t>();
  CHECK(std::equal(inputs.begin() + 1, inputs.begin() + 24, targets.begin()));
  const std::string window = tokenizer->decode(std::vector<std::int64_t>(inputs.begin(), inputs.begin() + 24), false);
  std::ifstream in(file, std::ios::binary);
  const std::string corpus((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(corpus.find(window) != std::string::npos);

  ComponentRegistry& registry = test::example_registry();
  const std::string text = text_experiment("tokenizer = \"" + tokenizer_folder.string() + "\"", 200);
  const Experiment e = Experiment::from_string(text, "text.toml", test::hermetic_options(), registry);
  const auto objects = build_experiment(e, registry);
  CHECK(objects.model->dims().vocab_size == tokenizer->vocab_size());
  const TrainSummary s = train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train);
  INFO("perplexity " << s.initial_eval.perplexity << " -> " << s.final_eval.perplexity);
  CHECK(s.final_eval.perplexity < 0.2 * s.initial_eval.perplexity);
}

TEST_CASE("text task: a corpus that is not UTF-8 is refused with its line, a bad tokenizer by its key", "[tasks]") {
  const fs::path file = fs::temp_directory_path() / "strata_text_task_latin1.txt";
  {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "line " << i << "\n";
    out << "caf\xE9\n";  // Latin-1, not UTF-8
  }
  const std::string tokenizer = (fs::path(STRATA_TOKENIZER_FIXTURES_DIR) / "gpt2").string();
  CHECK_THROWS_WITH(make_task("text", {"path=\"" + file.string() + "\"", "tokenizer=\"" + tokenizer + "\""}),
                    Catch::Contains("(line 201)") && Catch::Contains("not valid UTF-8"));
  // bytes need no UTF-8
  CHECK(make_task("text", {"path=\"" + file.string() + "\"", "seq_len=8"})->vocab_size() == 256);
  CHECK_THROWS_WITH(make_task("text", {"path=\"" + file.string() + "\"", "tokenizer=\"/nonexistent/tok.json\""}),
                    Catch::Contains("tokenizer") && Catch::Contains("does not exist"));
  fs::remove(file);
}

TEST_CASE("text task documents: packed rows keep documents apart and never predict across them", "[tasks][packing]") {
  const std::string file_text = test::file_bytes(STRATA_TEXT_FIXTURE);
  auto task = make_task("text", {"path=\"" + std::string(STRATA_TEXT_FIXTURE) + "\"", "seq_len=200",
                                 "documents=\"paragraphs\""});
  Generator gen(3);
  for (const Batch& b : {task->train_batch(4, gen), task->eval_batch(1, 4)}) {
    REQUIRE(b.sequence_starts.defined());
    REQUIRE_NOTHROW(check_sequence_starts(b.sequence_starts, 4, 200, "text task"));
    CHECK(b.padding == 0);
    const auto in = b.inputs.to_vector<std::int64_t>(), tg = b.targets.to_vector<std::int64_t>();
    const auto st = b.sequence_starts.to_vector<std::int64_t>();
    std::int64_t documents = 0, unscored = 0;
    for (std::int64_t r = 0; r < 4; ++r)
      for (std::int64_t t = 0; t < 200; ++t) {
        const std::size_t i = std::size_t(r * 200 + t);
        documents += st[i] == t;
        const bool same_next = t + 1 < 200 && st[i + 1] == st[i];
        if (same_next) CHECK(tg[i] == in[i + 1]);
        if (t + 1 < 200 && !same_next) CHECK(tg[i] == -100);  // a document's last token predicts nothing
        unscored += tg[i] == -100;
        // Each document is a stretch of one paragraph: no blank line inside it.
        if (same_next) CHECK(!(in[i] == '\n' && in[i + 1] == '\n'));
      }
    CHECK(documents > 4);  // speeches are shorter than 200 bytes: several per row
    CHECK(unscored >= documents - 4);
    // A row's second document is a paragraph's beginning in the file.
    for (std::int64_t r = 0; r < 4; ++r) {
      const auto ranges = sequence_ranges(b.sequence_starts, r);
      if (ranges.size() < 2) continue;  // one paragraph longer than the row
      std::string second;
      for (std::int64_t t = ranges[1].begin; t < ranges[1].end; ++t) second += char(in[std::size_t(r * 200 + t)]);
      CHECK(file_text.find("\n\n" + second) != std::string::npos);
    }
  }
}

TEST_CASE("text task documents: padded rows hold one document each, and lines and separators split", "[tasks][packing]") {
  auto padded = make_task("text", {"path=\"" + std::string(STRATA_TEXT_FIXTURE) + "\"", "seq_len=200",
                                   "documents=\"paragraphs\"", "layout=\"padded\""});
  Generator gen(3);
  const Batch b = padded->train_batch(8, gen);
  CHECK(!b.sequence_starts.defined());
  const auto in = b.inputs.to_vector<std::int64_t>(), tg = b.targets.to_vector<std::int64_t>();
  std::int64_t padding = 0;
  for (std::int64_t r = 0; r < 8; ++r) {
    std::int64_t len = 200;
    while (len > 0 && tg[std::size_t(r * 200 + len - 1)] == -100 && in[std::size_t(r * 200 + len - 1)] == 0) --len;
    padding += 200 - len;
    for (std::int64_t t = len; t < 200; ++t) CHECK(tg[std::size_t(r * 200 + t)] == -100);
  }
  CHECK(b.padding == padding);
  CHECK(b.padding > 0);

  const fs::path file = fs::temp_directory_path() / "strata_documents.txt";
  test::write_file(file, "alpha beta<|sep|>gamma<|sep|><|sep|>delta epsilon zeta\nsecond line\n<|sep|>eta theta");
  auto separated = make_task("text", {"path=\"" + file.string() + "\"", "seq_len=8", "documents=\"separator\"",
                                      "separator=\"<|sep|>\"", "valid_fraction=0.25"});
  const Batch e = separated->eval_batch(0, 1);  // the last of 4 documents validates
  CHECK(e.inputs.to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{'e', 't', 'a', ' ', 't', 'h', 'e', 't'});  // wraps to itself after its 9 bytes
  auto lines = make_task("text", {"path=\"" + file.string() + "\"", "seq_len=8", "documents=\"lines\"",
                                  "valid_fraction=0.5"});
  const Batch l = lines->eval_batch(0, 1);  // 3 lines: the last validates
  CHECK(l.inputs.to_vector<std::int64_t>() == std::vector<std::int64_t>{'<', '|', 's', 'e', 'p', '|', '>', 'e'});
  CHECK_THROWS_WITH(make_task("text", {"path=\"" + file.string() + "\"", "documents=\"separator\""}),
                    Catch::Contains("needs a separator"));
  CHECK_THROWS_WITH(make_task("text", {"path=\"" + file.string() + "\"", "documents=\"paragraphs\""}),
                    Catch::Contains("too few for a training and a validation part"));
  fs::remove(file);
}

TEST_CASE("text task documents: a small model learns from packed documents", "[tasks][training][packing]") {
  ComponentRegistry& registry = test::example_registry();
  const Experiment e = Experiment::from_string(text_experiment("documents = \"paragraphs\"\n", 80), "text.toml",
                                               test::hermetic_options(), registry);
  const auto objects = build_experiment(e, registry);
  const TrainSummary s = train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train);
  INFO("perplexity " << s.initial_eval.perplexity << " -> " << s.final_eval.perplexity);
  CHECK(s.final_eval.perplexity < 0.2 * s.initial_eval.perplexity);
}
