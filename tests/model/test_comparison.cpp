// Comparing variants over seeds: the statistics (t intervals, Welch's test, Holm's
// correction) against values computed by hand, the grouping of runs into variants, which
// differences are called beyond seed noise, and the pages and tables built on them, from
// hand-written run folders whose metrics carry names the report does not know.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "catch.h"
#include "helpers.h"
#include "report/statistics.h"
#include "strata/compare.h"
#include "strata/error.h"
#include "strata/report.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& file, const std::string& text) { test::write_file(file, text); }
std::string read(const fs::path& file) { return test::file_bytes(file); }

// A run folder as `strata run` leaves it: config (width, seed), final.json, and metrics with
// the declarations of two MoE layers' headline series "spread" and "flat" (names the report
// does not know) and an auxiliary term.
fs::path seeded_run(const fs::path& parent, const std::string& name, int width, int seed, double eval_loss,
                    double spread) {
  const fs::path dir = parent / name;
  fs::create_directories(dir);
  write(dir / "config.toml", "# resolved from demo.toml\n[model]\nd_model = " + std::to_string(width) +
                                 "\n[train]\nsteps = 20\nseed = " + std::to_string(seed) + "\n");
  write(dir / "final.json", "{\"steps\": 20, \"train_loss\": " + std::to_string(eval_loss + 0.1) +
                                ", \"eval\": {\"loss\": " + std::to_string(eval_loss) +
                                ", \"accuracy\": 0.5}, \"tokens_per_s\": 1000, \"seconds\": 1}");
  std::string metrics =
      R"({"series": [)"
      R"({"name": "spread", "scope": "layers.0.ffn", "kind": "scalar", "axes": [], "edges": [], "unit": "", "reduce": "mean", "doc": "how uneven", "headline": true},)"
      R"({"name": "spread", "scope": "layers.1.ffn", "kind": "scalar", "axes": [], "edges": [], "unit": "", "reduce": "mean", "doc": "how uneven", "headline": true},)"
      R"({"name": "flat", "scope": "layers.0.ffn", "kind": "scalar", "axes": [], "edges": [], "unit": "", "reduce": "mean", "doc": "never moves", "headline": true}]})"
      "\n";
  for (int step = 10; step <= 20; step += 10) {
    // Layer 0 logs spread - 0.1, layer 1 spread + 0.1: the mean over layers is `spread`.
    metrics += "{\"step\": " + std::to_string(step) + ", \"loss\": 1.0, \"metric.layers.0.ffn.spread\": " +
               std::to_string(spread - 0.1) + ", \"metric.layers.1.ffn.spread\": " + std::to_string(spread + 0.1) +
               ", \"metric.layers.0.ffn.flat\": 2, \"aux.layers.0.ffn.balance.0.tilt\": 0.25, "
               "\"aux.layers.1.ffn.balance.0.tilt\": 0.5}\n";
  }
  write(dir / "metrics.jsonl", metrics);
  return dir;
}

}  // namespace

TEST_CASE("seed statistics: t intervals, Welch's test and Holm's correction match hand computations", "[compare]") {
  using namespace strata::report;
  const Stats s = summarize({1, 2, 3, NAN});
  CHECK(s.n == 3);
  CHECK(s.mean == Approx(2));
  CHECK(s.std == Approx(1));
  // t(0.975, 2) = 4.302653
  CHECK(s.high - s.mean == Approx(4.302653 / std::sqrt(3.0)).epsilon(1e-6));
  CHECK(s.mean - s.low == Approx(s.high - s.mean));
  const Stats one = summarize({5});
  CHECK_FALSE(one.interval());
  CHECK(one.low == one.mean);
  CHECK(summarize({}).n == 0);

  // {1,2,3} against {4,5,6}: t = 3 / sqrt(2/3) = 3.674, df = 4, two-sided p = 0.02131.
  CHECK(welch_p_value(s, summarize({4, 5, 6})) == Approx(0.021312).epsilon(1e-4));
  // Unequal variances: {1,2,3} against {10,20,30}: t = 18/sqrt(1/3 + 100/3), df = 2.040; p as
  // scipy.stats.ttest_ind(equal_var=False) gives it.
  CHECK(welch_p_value(s, summarize({10, 20, 30})) == Approx(0.0878746).epsilon(1e-5));
  CHECK(welch_p_value(s, summarize({1, 2, 3})) == Approx(1.0));
  CHECK(std::isnan(welch_p_value(s, one)));                           // one seed: cannot be tested
  CHECK(welch_p_value(summarize({0, 0}), summarize({1, 1})) == 0.0);  // no spread, different
  CHECK(welch_p_value(summarize({1, 1}), summarize({1, 1})) == 1.0);

  const std::vector<double> holm = holm_adjusted({0.01, 0.04, 0.03});
  CHECK(holm[0] == Approx(0.03));
  CHECK(holm[1] == Approx(0.06));  // max(0.03 * 2, 0.04 * 1): never below an earlier step
  CHECK(holm[2] == Approx(0.06));
  CHECK(holm_adjusted({0.9, 0.8})[0] == 1.0);
}

TEST_CASE("compare: seeds of one config are one variant, and differences beyond noise are called", "[compare]") {
  const fs::path root = test::fresh_temp_dir("compare", "grouping");
  // Variant A (width 16): 3 seeds, spread ~0.8. Variant B (width 32): 3 seeds, spread ~0.2,
  // the same eval loss up to noise. A repeat of A's seed 0 elsewhere: a variant of its own.
  const double a_loss[] = {0.50, 0.60, 0.55}, b_loss[] = {0.58, 0.49, 0.56};
  const double a_spread[] = {0.80, 0.82, 0.79}, b_spread[] = {0.20, 0.21, 0.19};
  std::vector<fs::path> runs;
  for (int seed = 0; seed < 3; ++seed)
    runs.push_back(seeded_run(root / "day1", "narrow_seed-" + std::to_string(seed), 16, seed, a_loss[seed], a_spread[seed]));
  for (int seed = 0; seed < 3; ++seed)
    runs.push_back(seeded_run(root / "day2", "wide_seed-" + std::to_string(seed), 32, seed, b_loss[seed], b_spread[seed]));
  runs.push_back(seeded_run(root / "machine2", "narrow_seed-0", 16, 0, 0.52, 0.81));

  const fs::path page = root / "comparison.html";
  const ComparisonSummary summary = compare_runs_and_report(runs, page, 200);
  INFO(summary.table);
  // Three variants: narrow (3 seeds), wide (3 seeds), and narrow's repeated seed 0.
  CHECK(summary.table.find("narrow (day1)") != std::string::npos);
  CHECK(summary.table.find("narrow (machine2)") != std::string::npos);
  CHECK(summary.table.find("wide ") != std::string::npos);
  // spread: the mean over the layers, 0.803 +- 4.30 * 0.0153 / sqrt(3) = 0.038 for narrow.
  CHECK(summary.table.find("0.803 \u00b10.038") != std::string::npos);
  // The statements: spread differs beyond noise for wide, eval loss does not; the metric that
  // never changes is not a column.
  std::string statements;
  for (const std::string& s : summary.statements) statements += s + "\n";
  INFO(statements);
  CHECK(statements.find("Each variant against narrow (day1)") != std::string::npos);
  CHECK(statements.find("spread (narrow (day1): 0.803 \u00b10.038): 1 of 1 variant differs beyond seed noise: wide "
                        "0.200 \u00b10.025 (Holm: 1 of 1).") != std::string::npos);
  CHECK(statements.find("eval loss (narrow (day1): 0.55 \u00b10.12): no variant differs beyond seed noise.") !=
        std::string::npos);
  CHECK(statements.find("flat") == std::string::npos);
  // A variant with one seed is not tested, and the statements say so.
  CHECK(statements.find("Not tested, a single seed each: narrow (machine2)") != std::string::npos);
  CHECK(summary.table.find("0.81 *") == std::string::npos);

  const std::string html = read(page);
  CHECK(html.find("<h2 id=\"ranking\">Ranking</h2>") < html.find("<h2 id=\"curves\">"));
  CHECK(html.find("class=\"band\"") != std::string::npos);      // mean +- std over seeds
  CHECK(html.find("class=\"point\"") != std::string::npos);     // the trade-off chart
  CHECK(html.find(">tilt loss<") != std::string::npos);    // the aux term, summed over layers
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);

  SECTION("with every variant seeded, the tests run and bold the differing cells") {
    std::vector<fs::path> seeded(runs.begin(), runs.begin() + 6);
    const ComparisonSummary two = compare_runs_and_report(seeded, page, 200);
    std::string text;
    for (const std::string& s : two.statements) text += s + "\n";
    INFO(text);
    CHECK(text.find("spread (narrow: 0.803 \u00b10.038): 1 of 1 variant differs beyond seed noise: wide 0.200 \u00b10.025 (Holm: 1 of 1).") !=
          std::string::npos);
    CHECK(text.find("eval loss (narrow: 0.55 \u00b10.12): no variant differs beyond seed noise.") != std::string::npos);
    CHECK(two.table.find("0.200 \u00b10.025 *") != std::string::npos);
    CHECK(read(page).find("<td class=\"num strong\">0.200 <span class=\"pm\">\u00b10.025</span></td>") !=
          std::string::npos);
  }
  SECTION("a folder that is neither a run nor a sweep is refused by name") {
    fs::create_directories(root / "empty");
    CHECK_THROWS_WITH(runs_to_compare({root / "empty"}), Catch::Matchers::Contains("neither a run folder nor a sweep folder"));
    CHECK_THROWS_WITH(runs_to_compare({root / "missing"}), Catch::Matchers::Contains("missing: not a folder"));
    CHECK_THROWS_AS(runs_to_compare({root / "missing"}), FileFormatError);
  }
  SECTION("a sweep folder stands for its runs") {
    CHECK(runs_to_compare({root / "day1"}).size() == 3);
  }
}

TEST_CASE("compare: default seeds, unfinished runs, repeated seeds and tiny values", "[compare]") {
  const fs::path root = test::fresh_temp_dir("compare", "edges");
  const auto table_of = [&](const std::vector<fs::path>& runs) {
    return compare_runs_and_report(runs, root / "page.html", 200);
  };
  SECTION("a run that kept the default seed is a seed of its variant") {
    std::vector<fs::path> runs;
    for (int seed = 0; seed < 3; ++seed) runs.push_back(seeded_run(root / "d", "s" + std::to_string(seed), 16, seed, 0.5, 0.8));
    // What strata writes for a seed left at its default: a comment.
    std::string config = read(runs[0] / "config.toml");
    config.replace(config.find("seed = 0"), 8, "# seed = 0  # default");
    write(runs[0] / "config.toml", config);
    const ComparisonSummary s = table_of(runs);
    INFO(s.table);
    CHECK(s.table.find(" 3 ") != std::string::npos);  // one variant of 3 seeds
    CHECK(s.table.find("\n2 ") == std::string::npos);
  }
  SECTION("diverged and interrupted runs are left out, and said so") {
    std::vector<fs::path> runs;
    for (int seed = 0; seed < 3; ++seed) runs.push_back(seeded_run(root / "u", "s" + std::to_string(seed), 16, seed, 0.5, 0.8));
    fs::remove(runs[1] / "final.json");
    write(runs[2] / "final.json", "{\"steps\": 7, \"interrupted\": true, \"eval\": {\"loss\": 9.0}}");
    const ComparisonSummary s = table_of(runs);
    std::string notes;
    for (const std::string& n : s.notes) notes += n + "\n";
    INFO(s.table << notes);
    CHECK(notes.find("s1 has no final.json (it diverged, was stopped, or is still running): left out") != std::string::npos);
    CHECK(notes.find("s2 was interrupted (resume it to finish): left out") != std::string::npos);
    CHECK(s.table.find("9") == std::string::npos);  // the interrupted run's loss is in no mean
  }
  SECTION("a seed that repeats keeps each source's runs together") {
    std::vector<fs::path> runs;
    for (int seed : {0, 1}) runs.push_back(seeded_run(root / "day1", "s" + std::to_string(seed), 16, seed, 0.5, 0.8));
    for (int seed : {1, 2}) runs.push_back(seeded_run(root / "day2", "s" + std::to_string(seed), 16, seed, 0.5, 0.8));
    const ComparisonSummary s = table_of(runs);
    INFO(s.table);
    // Two variants of 2 seeds each, one per day (not {day1 s0, s1, day2 s2} and {day2 s1}).
    CHECK(s.table.find("s0 (day1)      2") != std::string::npos);
    CHECK(s.table.find("s1 (day2)      2") != std::string::npos);
  }
  SECTION("metrics of tiny magnitude are tested, not crashed on") {
    std::vector<fs::path> runs;
    for (int seed = 0; seed < 3; ++seed)
      runs.push_back(seeded_run(root / "t", "a" + std::to_string(seed), 16, seed, 0.5, 1e-150 * (1 + seed)));
    for (int seed = 0; seed < 3; ++seed)
      runs.push_back(seeded_run(root / "t", "b" + std::to_string(seed), 32, seed, 0.5, 5e-150 * (1 + seed)));
    CHECK_NOTHROW(table_of(runs));
  }
  SECTION("a reference of one seed: the first variant with several is tested against") {
    std::vector<fs::path> runs{seeded_run(root / "r", "lonely", 8, 0, 0.5, 0.5)};
    for (int seed = 0; seed < 3; ++seed) runs.push_back(seeded_run(root / "r", "a" + std::to_string(seed), 16, seed, 0.5, 0.8));
    for (int seed = 0; seed < 3; ++seed) runs.push_back(seeded_run(root / "r", "b" + std::to_string(seed), 32, seed, 0.5, 0.2));
    const ComparisonSummary s = table_of(runs);
    std::string text;
    for (const std::string& line : s.statements) text += line + "\n";
    INFO(text);
    CHECK(text.find("Each variant against a0 (the first variant with two or more seeds)") != std::string::npos);
    CHECK(text.find("1 of 1 variant differs beyond seed noise: b0") != std::string::npos);
    CHECK(text.find("Not tested, a single seed each: lonely") != std::string::npos);
  }
}

TEST_CASE("compare: variants with different decoding states get the accuracy-against-state chart", "[compare]") {
  const fs::path root = test::fresh_temp_dir("compare", "state");
  std::vector<fs::path> runs;
  const double states[] = {5120, 65536, 140288};
  const double accuracy[] = {0.15, 0.3, 0.99};
  for (int v = 0; v < 3; ++v) {
    const fs::path dir = seeded_run(root, "w" + std::to_string(v), 16 * (v + 1), 0, 1.0 - 0.1 * v, 0.5);
    write(dir / "final.json", "{\"steps\": 20, \"train_loss\": 1.0, \"eval\": {\"loss\": 1.0, \"accuracy\": " +
                                  std::to_string(accuracy[v]) + "}, \"tokens_per_s\": 1000, \"seconds\": 1, "
                                  "\"decode\": {\"tokens_per_s\": 10, \"cache_bytes\": 1, \"state_bytes\": " +
                                  std::to_string(states[v]) + "}}");
    runs.push_back(dir);
  }
  const fs::path page = root / "comparison.html";
  compare_runs_and_report(runs, page, 200);
  const std::string html = read(page);
  const std::size_t section = html.find("<h2 id=\"state\">Against the state size</h2>");
  REQUIRE(section != std::string::npos);
  CHECK(html.find("state bytes per sequence (log scale)", section) != std::string::npos);
  // Equal states (the same model family at one size): no such chart.
  for (const fs::path& dir : runs) {
    std::string f = read(dir / "final.json");
    for (const double s : states) {
      const std::string v = std::to_string(s);
      if (const std::size_t at = f.find(v); at != std::string::npos) f.replace(at, v.size(), "4096");
    }
    write(dir / "final.json", f);
  }
  compare_runs_and_report(runs, page, 200);
  CHECK(read(page).find("id=\"state\"") == std::string::npos);
}

TEST_CASE("compare: a key added since older runs, at its default, does not split a variant", "[compare]") {
  const fs::path root = test::fresh_temp_dir("compare", "new_key");
  const fs::path old_run = seeded_run(root, "old", 16, 0, 1.0, 0.5), new_run = seeded_run(root, "new", 16, 1, 1.1, 0.5);
  // The newer strata writes a key the older one did not know, as a default comment.
  write(new_run / "config.toml", "# resolved from demo.toml\n[model]\nd_model = 16\n# logits_scaling = 1.0  # default\n"
                                 "[train]\nsteps = 20\nseed = 1\n");
  // One variant of two seeds: a table of a header and one row.
  const auto rows = [&] {
    const std::string table = compare_runs_and_report({old_run, new_run}, root / "c.html", 200).table;
    INFO(table);
    std::istringstream in(table);
    std::string line;
    int n = 0;
    while (std::getline(in, line) && !line.empty()) ++n;
    return n - 1;
  };
  CHECK(rows() == 1);
  // The same key set explicitly to another value is another variant.
  write(new_run / "config.toml", "# resolved from demo.toml\n[model]\nd_model = 16\nlogits_scaling = 2.0\n"
                                 "[train]\nsteps = 20\nseed = 1\n");
  CHECK(rows() == 2);
}
