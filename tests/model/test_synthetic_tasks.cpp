// The synthetic tasks mqar, selective_copy, induction_heads and associative_recall: each
// generator against its definition (what sits where, what is scored, with which target),
// the fixed evaluation set, fresh training batches, and located errors for impossible
// configurations.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "catch.h"
#include "config_error_cases.h"
#include "mamba/mamba_registry.h"
#include "registry_helpers.h"

#include "strata/experiment.h"
#include "strata/testing/component_check.h"

using namespace strata;

namespace {

std::shared_ptr<Task> make_task(const std::string& type, const std::vector<std::string>& keys) {
  ComponentRegistry& registry = test::example_registry();
  Generator gen(0);
  BuildContext ctx;
  ctx.gen = &gen;
  ctx.registry = &registry;
  return registry.create<Task>(testing::component_config(registry, ComponentKind::task, type, keys), ctx);
}

// A batch as rows of plain integers.
struct Rows {
  std::int64_t B = 0, T = 0;
  std::vector<std::int64_t> inputs, targets;
  explicit Rows(const Batch& batch)
      : B(batch.inputs.shape()[0]),
        T(batch.inputs.shape()[1]),
        inputs(batch.inputs.to_vector<std::int64_t>()),
        targets(batch.targets.to_vector<std::int64_t>()) {
    REQUIRE(batch.targets.shape() == batch.inputs.shape());
  }
  std::int64_t in(std::int64_t b, std::int64_t t) const { return inputs[std::size_t(b * T + t)]; }
  std::int64_t tg(std::int64_t b, std::int64_t t) const { return targets[std::size_t(b * T + t)]; }
  std::vector<std::int64_t> row(std::int64_t b) const { return {inputs.begin() + b * T, inputs.begin() + (b + 1) * T}; }
  std::vector<std::int64_t> scored(std::int64_t b) const {
    std::vector<std::int64_t> at;
    for (std::int64_t t = 0; t < T; ++t)
      if (tg(b, t) != -100) at.push_back(t);
    return at;
  }
};

Rows train_rows(Task& task, std::int64_t batch_size, std::uint64_t seed) {
  Generator gen(seed);
  return Rows(task.train_batch(batch_size, gen));
}

}  // namespace

// ---- mqar ----------------------------------------------------------------------------

TEST_CASE("mqar: pairs first, keys unique from the first half, values from the second, each key queried once",
          "[tasks][mqar]") {
  const std::int64_t V = 64, S = 64, K = 8;
  for (const std::int64_t passes : {1, 2}) {
    INFO("num_passes = " << passes);
    auto task = make_task("mqar", {"vocab_size=64", "seq_len=64", "num_kv_pairs=8", "random_non_queries=false",
                                   "num_passes=" + std::to_string(passes)});
    CHECK(task->vocab_size() == V);
    CHECK(task->seq_len() == S);
    CHECK(task->chance_accuracy() == Approx(1.0 / 32));
    const Rows r = train_rows(*task, 100, 7);
    const std::int64_t c = 2 * K * passes;
    for (std::int64_t b = 0; b < r.B; ++b) {
      std::map<std::int64_t, std::int64_t> value_of;
      std::set<std::int64_t> values;
      for (std::int64_t i = 0; i < K; ++i) {
        const std::int64_t key = r.in(b, 2 * i), value = r.in(b, 2 * i + 1);
        CHECK((key >= 1 && key < V / 2));
        CHECK((value >= V / 2 && value < V));
        value_of[key] = value;
        values.insert(value);
      }
      CHECK(value_of.size() == std::size_t(K));                                          // keys distinct
      CHECK(values.size() == std::size_t(K));                                            // values distinct
      for (std::int64_t t = 2 * K; t < c; ++t) CHECK(r.in(b, t) == r.in(b, t - 2 * K));  // the repeated pass
      for (std::int64_t t = 0; t < c; ++t) CHECK(r.tg(b, t) == -100);
      // The query region: each key once, at an even offset, scored with its value; every
      // other position is 0 and unscored.
      std::set<std::int64_t> queried;
      for (std::int64_t t = c; t < S; ++t) {
        const std::int64_t x = r.in(b, t), y = r.tg(b, t);
        if (x == 0) {
          CHECK(y == -100);
          continue;
        }
        CHECK((t - c) % 2 == 0);
        REQUIRE(value_of.count(x) == 1);
        CHECK(y == value_of[x]);
        CHECK(queried.insert(x).second);
      }
      CHECK(queried.size() == std::size_t(K));
      CHECK(r.scored(b).size() == std::size_t(K));
    }
  }
}

TEST_CASE("mqar: random_non_queries fills only the positions that would be 0", "[tasks][mqar]") {
  auto plain = make_task("mqar", {"vocab_size=64", "seq_len=64", "num_kv_pairs=8", "random_non_queries=false"});
  auto filled = make_task("mqar", {"vocab_size=64", "seq_len=64", "num_kv_pairs=8", "random_non_queries=true"});
  // The fill is drawn after the pairs and the query slots, so with the same generator the
  // first example has the same structure in both.
  const Rows p = train_rows(*plain, 1, 11), f = train_rows(*filled, 1, 11);
  CHECK(p.targets == f.targets);
  std::int64_t replaced = 0;
  for (std::int64_t t = 0; t < p.T; ++t) {
    if (p.in(0, t) != 0) CHECK(f.in(0, t) == p.in(0, t));
    replaced += p.in(0, t) == 0 && f.in(0, t) != 0;
  }
  CHECK(replaced > 30);  // 40 fill positions, each 0 again with probability 1/64
  // Over many examples the fill covers the whole vocabulary, keys and values included.
  const Rows many = train_rows(*filled, 200, 12);
  std::set<std::int64_t> seen;
  for (std::int64_t b = 0; b < many.B; ++b)
    for (std::int64_t t = 16; t < many.T; ++t)
      if (many.tg(b, t) == -100) seen.insert(many.in(b, t));
  CHECK(seen.size() == 64);
  CHECK(*seen.begin() == 0);
}

namespace {

// Query slot of every key, in draw order: the i-th pair's key was drawn with the i-th slot.
std::vector<std::vector<std::int64_t>> query_slots(const Rows& r, std::int64_t K) {
  std::vector<std::vector<std::int64_t>> slots(std::size_t(r.B));
  for (std::int64_t b = 0; b < r.B; ++b) {
    for (std::int64_t i = 0; i < K; ++i) {
      for (std::int64_t t = 2 * K; t < r.T; t += 2) {
        if (r.in(b, t) == r.in(b, 2 * i)) slots[std::size_t(b)].push_back((t - 2 * K) / 2);
      }
    }
    REQUIRE(slots[std::size_t(b)].size() == std::size_t(K));
  }
  return slots;
}

// Zoology's slot draw (numpy choice without replacement with p ∝ (j+1)^(a-1)), written
// independently: one slot after another from the renormalised remaining weights.
std::vector<double> reference_inclusion(std::int64_t slots, std::int64_t K, double a, int trials) {
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> counts(std::size_t(slots), 0.0);
  for (int n = 0; n < trials; ++n) {
    std::vector<double> w(static_cast<std::size_t>(slots));
    for (std::int64_t j = 0; j < slots; ++j) w[std::size_t(j)] = a * std::pow(double(j + 1), a - 1);
    for (std::int64_t k = 0; k < K; ++k) {
      double total = 0;
      for (double x : w) total += x;
      double r = u(rng) * total;
      std::int64_t j = 0;
      while (j + 1 < slots && (r -= w[std::size_t(j)]) >= 0) ++j;
      counts[std::size_t(j)] += 1;
      w[std::size_t(j)] = 0;
    }
  }
  for (double& c : counts) c /= trials;
  return counts;
}

}  // namespace

TEST_CASE("mqar: query gaps follow Zoology's power law", "[tasks][mqar]") {
  const std::int64_t K = 8, S = 64, slots = (S - 2 * K) / 2;  // 24 slots
  const int N = 20000;
  for (const double a : {0.01, 1.0}) {
    INFO("power_a = " << a);
    auto task = make_task("mqar", {"vocab_size=512", "seq_len=64", "num_kv_pairs=8", "random_non_queries=false",
                                   "power_a=" + std::to_string(a)});
    const auto drawn = query_slots(train_rows(*task, N, 5), K);
    // The first draw is exactly p_j ∝ (j+1)^(a-1).
    std::vector<double> p(static_cast<std::size_t>(slots));
    double total = 0;
    for (std::int64_t j = 0; j < slots; ++j) total += (p[std::size_t(j)] = std::pow(double(j + 1), a - 1));
    std::vector<double> first(std::size_t(slots), 0.0), included(std::size_t(slots), 0.0);
    for (const auto& s : drawn) {
      first[std::size_t(s[0])] += 1.0 / N;
      for (std::int64_t j : s) included[std::size_t(j)] += 1.0 / N;
    }
    const std::vector<double> expected = reference_inclusion(slots, K, a, N);
    for (std::int64_t j = 0; j < slots; ++j) {
      INFO("slot " << j);
      CHECK(first[std::size_t(j)] == Approx(p[std::size_t(j)] / total).margin(0.012));
      CHECK(included[std::size_t(j)] == Approx(expected[std::size_t(j)]).margin(0.025));
    }
    if (a < 1) CHECK(included[0] > 2 * included[std::size_t(slots - 1)]);  // short gaps are likelier
  }
}

// ---- selective_copy ------------------------------------------------------------------

TEST_CASE("selective_copy: data scattered in the data region, copied in order at the markers",
          "[tasks][selective_copy]") {
  const std::int64_t A = 10, T = 40, M = 6, region = T - M;
  auto task = make_task("selective_copy", {"vocab_size=10", "seq_len=40", "n_data=6"});
  CHECK(task->vocab_size() == A);
  CHECK(task->seq_len() == T);
  CHECK(task->chance_accuracy() == Approx(1.0 / 8));
  const Rows r = train_rows(*task, 300, 3);
  std::vector<int> used(std::size_t(region), 0);
  std::set<std::int64_t> symbols;
  for (std::int64_t b = 0; b < r.B; ++b) {
    std::vector<std::int64_t> data;
    for (std::int64_t t = 0; t < region; ++t) {
      const std::int64_t x = r.in(b, t);
      CHECK(r.tg(b, t) == -100);
      CHECK((x >= 0 && x <= A - 2));
      if (x != 0) {
        data.push_back(x);
        ++used[std::size_t(t)];
        symbols.insert(x);
      }
    }
    REQUIRE(data.size() == std::size_t(M));  // data tokens are never the noise token 0
    for (std::int64_t i = 0; i < M; ++i) {
      CHECK(r.in(b, region + i) == A - 1);                 // marker
      CHECK(r.tg(b, region + i) == data[std::size_t(i)]);  // the i-th data token, in order
    }
  }
  // The positions are random over the whole region, not a fixed prefix.
  CHECK(std::count(used.begin(), used.end(), 0) == 0);
  CHECK(used.back() > 0);
  CHECK(symbols.size() == std::size_t(A - 2));
}

// ---- induction_heads -----------------------------------------------------------------

TEST_CASE("induction_heads: the answer is the token after the trigger's first occurrence", "[tasks][induction_heads]") {
  for (const std::int64_t T : {30, 1000}) {  // 1000: a longer evaluation length via seq_len
    INFO("seq_len = " << T);
    const std::int64_t V = 8, trigger = V - 1;
    auto task = make_task("induction_heads", {"vocab_size=8", "seq_len=" + std::to_string(T)});
    CHECK(task->seq_len() == T);
    CHECK(task->chance_accuracy() == Approx(1.0 / 7));
    const Rows r = train_rows(*task, 200, 4);
    std::set<std::int64_t> trigger_at, answers;
    for (std::int64_t b = 0; b < r.B; ++b) {
      std::vector<std::int64_t> triggers;
      for (std::int64_t t = 0; t < T; ++t) {
        CHECK((r.in(b, t) >= 0 && r.in(b, t) < V));
        if (r.in(b, t) == trigger) triggers.push_back(t);
      }
      REQUIRE(triggers.size() == 2);
      CHECK(triggers[1] == T - 1);
      CHECK(triggers[0] <= T - 3);
      trigger_at.insert(triggers[0]);
      CHECK(r.scored(b) == std::vector<std::int64_t>{T - 1});
      CHECK(r.tg(b, T - 1) == r.in(b, triggers[0] + 1));
      answers.insert(r.tg(b, T - 1));
    }
    CHECK(answers.size() == std::size_t(V - 1));
    CHECK(trigger_at.size() > (T < 100 ? 25u : 150u));  // the first trigger's place varies
  }
}

// ---- associative_recall --------------------------------------------------------------

TEST_CASE("associative_recall: key-value pairs, then a query answered with its value", "[tasks][associative_recall]") {
  SECTION("safari's default: vocab 20, 20 pairs, single-token keys") {
    const std::int64_t V = 20, T = 42, n_keys = 9;
    auto task = make_task("associative_recall", {});
    CHECK(task->vocab_size() == V);
    CHECK(task->seq_len() == T);
    CHECK(task->chance_accuracy() == Approx(1.0 / 9));
    const Rows r = train_rows(*task, 300, 8);
    std::set<std::int64_t> answers;
    for (std::int64_t b = 0; b < r.B; ++b) {
      std::map<std::int64_t, std::int64_t> value_of;
      for (std::int64_t i = 0; i < 20; ++i) {
        const std::int64_t key = r.in(b, 2 * i), value = r.in(b, 2 * i + 1);
        CHECK((key >= 0 && key < n_keys));
        CHECK((value >= n_keys && value < V - 2));
        const auto [it, added] = value_of.try_emplace(key, value);
        CHECK(it->second == value);  // one value per key within an example
      }
      CHECK(r.in(b, T - 2) == V - 2);  // "=>"
      const std::int64_t query = r.in(b, T - 1);
      REQUIRE(value_of.count(query) == 1);  // without allow_dot the query is present
      CHECK(r.scored(b) == std::vector<std::int64_t>{T - 1});
      CHECK(r.tg(b, T - 1) == value_of[query]);
      answers.insert(r.tg(b, T - 1));
    }
    CHECK(answers.size() == 9);
  }
  SECTION("two-token keys, and allow_dot answering absent keys with the no-op token") {
    const std::int64_t V = 12, T = 18, P = 5;  // 5 triples, "=>", a 2-token key
    auto task = make_task("associative_recall", {"vocab_size=12", "seq_len=18", "num_keys=2", "allow_dot=true"});
    CHECK(task->chance_accuracy() == Approx(1.0 / 6));  // 5 values + the no-op
    const Rows r = train_rows(*task, 400, 9);
    int absent = 0, present = 0;
    for (std::int64_t b = 0; b < r.B; ++b) {
      std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> value_of;
      for (std::int64_t i = 0; i < P; ++i) {
        const std::pair key{r.in(b, 3 * i), r.in(b, 3 * i + 1)};
        CHECK((key.first < 5 && key.second < 5));
        const auto [it, added] = value_of.try_emplace(key, r.in(b, 3 * i + 2));
        CHECK(it->second == r.in(b, 3 * i + 2));
      }
      CHECK(r.in(b, 3 * P) == V - 2);
      const std::pair query{r.in(b, T - 2), r.in(b, T - 1)};
      const auto it = value_of.find(query);
      if (it == value_of.end()) {
        CHECK(r.tg(b, T - 1) == V - 1);
        ++absent;
      } else {
        CHECK(r.tg(b, T - 1) == it->second);
        ++present;
      }
      CHECK(r.scored(b).size() == 1);
    }
    CHECK(absent > 200);  // at most 5 of 25 keys present: most queries are absent
    CHECK(present > 20);
  }
}

TEST_CASE("train_all_positions: training scores every next token, evaluation only the answer", "[tasks]") {
  for (const std::string type : {"associative_recall", "induction_heads"}) {
    INFO(type);
    auto task = make_task(type, {"train_all_positions=true", "seq_len=42"});
    auto answer_only = make_task(type, {"seq_len=42"});
    const Rows r = train_rows(*task, 16, 21), a = train_rows(*answer_only, 16, 21);
    CHECK(r.inputs == a.inputs);  // the same examples
    for (std::int64_t b = 0; b < r.B; ++b) {
      for (std::int64_t t = 0; t + 1 < r.T; ++t) CHECK(r.tg(b, t) == r.in(b, t + 1));
      CHECK(r.tg(b, r.T - 1) == a.tg(b, a.T - 1));  // the answer, as without the option
    }
    const Rows e(task->eval_batch(0, 16));
    for (std::int64_t b = 0; b < e.B; ++b) CHECK(e.scored(b) == std::vector<std::int64_t>{e.T - 1});
    CHECK(e.targets == Rows(answer_only->eval_batch(0, 16)).targets);
  }
}

// ---- all four: evaluation set, training stream ---------------------------------------

TEST_CASE("synthetic tasks: a fixed evaluation set, fresh training batches, no shared draws", "[tasks]") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> tasks = {
      {"mqar", {"vocab_size=128", "seq_len=64", "num_kv_pairs=8"}},
      {"selective_copy", {"seq_len=64", "n_data=8"}},
      {"induction_heads", {"seq_len=64"}},
      {"associative_recall", {}},
  };
  for (const auto& [type, keys] : tasks) {
    INFO(type);
    auto task = make_task(type, keys);
    auto twin = make_task(type, keys);
    const Rows e = Rows(task->eval_batch(3, 16));
    CHECK(Rows(task->eval_batch(3, 16)).inputs == e.inputs);
    CHECK(Rows(twin->eval_batch(3, 16)).inputs == e.inputs);
    CHECK(Rows(twin->eval_batch(3, 16)).targets == e.targets);
    CHECK(Rows(task->eval_batch(4, 16)).inputs != e.inputs);
    // Example e of the set does not depend on the batch size it is asked for in.
    const Rows half = Rows(task->eval_batch(7, 8));  // examples 56..63 = rows 8..15 of batch 3
    for (std::int64_t b = 0; b < 8; ++b) CHECK(half.row(b) == e.row(8 + b));
    // Another eval_seed, another set.
    std::vector<std::string> reseeded = keys;
    reseeded.push_back("eval_seed=99");
    CHECK(Rows(make_task(type, reseeded)->eval_batch(3, 16)).inputs != e.inputs);
    // Training draws only from the given generator: fresh every step, reproducible.
    Generator gen(1234), again(1234);
    const Rows t1(task->train_batch(16, gen)), t2(task->train_batch(16, gen));
    CHECK(t1.inputs != t2.inputs);
    CHECK(Rows(twin->train_batch(16, again)).inputs == t1.inputs);
    // A training generator seeded like the evaluation set still draws other examples
    // (the evaluation streams sit where a training stream's counter never reaches).
    const Rows e0(task->eval_batch(0, 16));
    for (std::int64_t b = 0; b < t1.B; ++b) CHECK(t1.row(b) != e0.row(b));
    for (std::int64_t b = 0; b < t1.B; ++b) CHECK(!t1.scored(b).empty());
  }
}

// ---- configuration errors ------------------------------------------------------------

namespace {

// The task keys under test start on line 3.
std::string experiment_with_task(const std::string& task_keys) {
  return "[task]\n"             // 1
         "type = \"mqar\"\n" +  // 2 (replaced per case below)
         task_keys +            // 3...
         "\n"
         "[model]\n"
         "d_model = 16\n"
         "n_layers = 1\n"
         "[model.mixer.C]\n"
         "type = \"shortconv\"\n"
         "[model.ffn.F]\n"
         "type = \"mlp\"\n"
         "[train]\n"
         "steps = 1\n";
}

}  // namespace

TEST_CASE("synthetic tasks: impossible configurations are located errors with a hint", "[tasks][errors]") {
  const std::vector<test::BadConfig> mqar = {
      {"odd seq_len", "seq_len = 63", "bad.toml:3:11", "task.seq_len", "seq_len = 63 is odd", "even seq_len"},
      {"more pairs than keys", "vocab_size = 16\nnum_kv_pairs = 8", "bad.toml:4:16", "task.num_kv_pairs",
       "num_kv_pairs = 8 distinct keys do not fit in the 7 key tokens", "num_kv_pairs <= 7 or vocab_size >= 18"},
      {"seq_len too short", "seq_len = 64\nnum_kv_pairs = 17", "bad.toml:3:11", "task.seq_len",
       "seq_len = 64 is too short for num_kv_pairs = 17", "seq_len >= 68"},
      {"seq_len too short for two passes", "seq_len = 40\nnum_kv_pairs = 8\nnum_passes = 2", "bad.toml:3:11",
       "task.seq_len", "the pairs take 32 tokens and the queries 16", "seq_len >= 48"},
      {"power_a 0", "power_a = 0.0", "bad.toml:3:11", "task.power_a", "out of range", ""},
      {"misspelt key", "num_kv_pair = 4", "bad.toml:3:1", "task.num_kv_pair", "unknown key", "num_kv_pairs"},
  };
  test::check_config_errors(mqar, experiment_with_task, test::example_registry());

  const auto as = [](const std::string& type) {
    return [type](const std::string& keys) {
      std::string text = experiment_with_task(keys);
      return text.replace(text.find("mqar"), 4, type);
    };
  };
  const std::vector<test::BadConfig> selective = {
      {"seq_len below 2 n_data", "seq_len = 20\nn_data = 16", "bad.toml:3:11", "task.seq_len",
       "cannot hold n_data = 16 data tokens and as many markers", "seq_len >= 32"},
      {"vocabulary without data tokens", "vocab_size = 2", "bad.toml:3:14", "task.vocab_size", "out of range", ""},
  };
  test::check_config_errors(selective, as("selective_copy"), test::example_registry());
  const std::vector<test::BadConfig> induction = {
      {"seq_len too short for a trigger, its token and the query", "seq_len = 2", "bad.toml:3:11", "task.seq_len",
       "out of range", ""},
  };
  test::check_config_errors(induction, as("induction_heads"), test::example_registry());
  const std::vector<test::BadConfig> recall = {
      {"seq_len between whole pairs", "seq_len = 41", "bad.toml:3:11", "task.seq_len",
       "seq_len = 41 is not P pairs of 2 tokens", "use seq_len = 40 or 42"},
      {"seq_len without a pair", "seq_len = 5\nnum_keys = 2", "bad.toml:3:11", "task.seq_len",
       "plus \"=>\" and a 2-token query", "use seq_len = 6 or 9"},
  };
  test::check_config_errors(recall, as("associative_recall"), test::example_registry());
}

// ---- learning -------------------------------------------------------------------------

TEST_CASE("a small Mamba model learns induction heads", "[tasks][training]") {
  const char* text = R"(
[task]
type = "induction_heads"
vocab_size = 16
seq_len = 32

[model]
d_model = 32
n_layers = 2

[model.mixer.M]
type = "mamba"
d_state = 8

[train]
steps = 400
batch_size = 32
lr = 5e-3
warmup_steps = 20
eval_every = 0
eval_batches = 8
log_every = 400
threads = 1
seed = 0
)";
  const TrainSummary s = test::train_experiment(text, "induction_heads.toml", test::mamba_registry());
  INFO("eval loss " << s.initial_eval.loss << " -> " << s.final_eval.loss << ", accuracy " << s.initial_eval.accuracy
                    << " -> " << s.final_eval.accuracy);
  CHECK(s.initial_eval.accuracy < 0.2);  // chance: 1/15
  CHECK(s.final_eval.accuracy > 0.9);
  CHECK(s.final_eval.loss < 0.2 * s.initial_eval.loss);
}
