// Run and sweep reports: self-contained HTML with one inline SVG per chart, rendered from
// hand-written run folders (including a null value, a corrupt metrics line and missing
// files), checked for structure, escaping and content.
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"
#include "strata/report.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& file, const std::string& text) { test::write_file(file, text); }
std::string read(const fs::path& file) { return test::file_bytes(file); }

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// A strict checker for the HTML the reports emit: every tag closed in order, void
// elements and self-closing (SVG) tags standing alone, no stray '<' or '>' in text
// (which is how unescaped text shows), <style> skipped as raw text. Returns the number
// of elements opened per tag name, or throws a message naming the first problem.
struct TagCheck {
  std::string error;  // empty when balanced
  std::map<std::string, int> opened;
};

TagCheck check_tags(const std::string& html) {
  static const std::vector<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"};
  TagCheck result;
  std::vector<std::string> stack;
  std::size_t i = 0;
  const auto fail = [&](const std::string& why) {
    result.error = why + " at offset " + std::to_string(i) + ": ..." + html.substr(i, 60);
    return result;
  };
  while (i < html.size()) {
    const char c = html[i];
    if (c == '>') return fail("stray '>' in text");
    if (c != '<') {
      ++i;
      continue;
    }
    if (html.compare(i, 4, "<!--") == 0) {
      const std::size_t end = html.find("-->", i);
      if (end == std::string::npos) return fail("unclosed comment");
      i = end + 3;
      continue;
    }
    if (html.compare(i, 2, "<!") == 0) {  // doctype
      i = html.find('>', i) + 1;
      continue;
    }
    const bool closing = i + 1 < html.size() && html[i + 1] == '/';
    std::size_t name_start = i + (closing ? 2 : 1), name_end = name_start;
    while (name_end < html.size() &&
           (std::isalnum(static_cast<unsigned char>(html[name_end])) || html[name_end] == '-'))
      ++name_end;
    if (name_end == name_start || !std::isalpha(static_cast<unsigned char>(html[name_start])))
      return fail("stray '<' in text");
    const std::string name = html.substr(name_start, name_end - name_start);
    // The tag ends at the next '>' outside a quoted attribute value.
    std::size_t j = name_end;
    char quote = 0;
    for (; j < html.size(); ++j) {
      if (quote) {
        if (html[j] == quote) quote = 0;
      } else if (html[j] == '"' || html[j] == '\'') {
        quote = html[j];
      } else if (html[j] == '<') {
        return fail("'<' inside tag <" + name);
      } else if (html[j] == '>') {
        break;
      }
    }
    if (j == html.size()) return fail("unterminated tag <" + name);
    const bool self_closing = html[j - 1] == '/';
    if (closing) {
      if (stack.empty() || stack.back() != name)
        return fail("</" + name + "> closes " + (stack.empty() ? std::string("nothing") : "<" + stack.back() + ">"));
      stack.pop_back();
      i = j + 1;
      continue;
    }
    ++result.opened[name];
    i = j + 1;
    if (self_closing || std::find(kVoid.begin(), kVoid.end(), name) != kVoid.end()) continue;
    if (name == "style" || name == "script") {
      const std::size_t end = html.find("</" + name + ">", i);
      if (end == std::string::npos) return fail("unclosed <" + name + ">");
      i = end + name.size() + 3;
      continue;
    }
    stack.push_back(name);
  }
  if (!stack.empty()) return fail("<" + stack.back() + "> is never closed");
  return result;
}

// A run folder as `strata run` writes it, with one MoE layer of `experts` experts, two
// balance terms, telemetry, a null train loss at step 20 and a corrupt line.
// `extra(step)` adds keys to each logged step's line (", \"key\": value, ...").
fs::path synthetic_run(const std::string& name, int experts = 4, const std::function<std::string(int)>& extra = {}) {
  const fs::path dir = test::fresh_temp_dir("report", name);
  write(dir / "config.toml",
        "# resolved from experiments/demo.toml\n[run]\nname = \"demo <b>&co</b>\"\n[task]\ntype = \"copy\"\n");
  write(dir / "plan.txt", "model: d_model 8, 2 layers, vocab 5\nlayer 0 <attn> & stuff\n");
  write(dir / "final.json",
        R"({"steps": 40, "seconds": 1.5, "tokens_per_s": 1000, "train_loss": 0.5,
            "initial_eval": {"loss": 2.0, "accuracy": 0.1}, "eval": {"loss": 0.4, "accuracy": 0.9},
            "chance_accuracy": 0.25, "parameters": 1234})");
  std::string metrics;
  for (int step = 10; step <= 40; step += 10) {
    std::string line = "{\"step\": " + std::to_string(step);
    line += step == 20 ? ", \"loss\": null" : ", \"loss\": " + std::to_string(2.0 / step);
    line += ", \"lr\": " + std::to_string(0.001 * step / 40) + ", \"grad_norm\": 1.5, \"tokens_per_s\": 1000";
    line += ", \"aux.layers.1.ffn.balance.0.switch_aux\": " + std::to_string(0.01 + 0.001 / step);
    line += ", \"aux.layers.1.ffn.balance.1.z_loss\": " + std::to_string(0.002 / step);
    for (int e = 0; e < experts; ++e)
      line += ", \"metric.layers.1.ffn.load." + std::to_string(e) + "\": " + std::to_string((e + 1.0) / 10.0);
    line += ", \"metric.layers.1.ffn.load_cv\": 0.3, \"metric.layers.1.ffn.dead_experts\": " +
            std::string(step == 30 ? "1" : "0");
    if (extra) line += extra(step);
    if (step % 20 == 0) line += ", \"eval_loss\": " + std::to_string(1.0 / step) + ", \"eval_accuracy\": 0.75";
    metrics += line + "}\n";
    if (step == 20) metrics += "{\"step\": 25, \"loss\": 0.3, broken\n\n";
  }
  write(dir / "metrics.jsonl", metrics);
  return dir;
}

}  // namespace

TEST_CASE("tag checker: catches what it is there to catch", "[report]") {
  CHECK(check_tags("<p>a &amp; b</p>").error.empty());
  CHECK(check_tags("<svg><rect x=\"1\"/><g><title>t</title></g></svg>").opened.at("rect") == 1);
  CHECK_FALSE(check_tags("<p>a < b</p>").error.empty());
  CHECK_FALSE(check_tags("<p>a > b</p>").error.empty());
  CHECK_FALSE(check_tags("<p><b></p></b>").error.empty());
  CHECK_FALSE(check_tags("<div>").error.empty());
}

TEST_CASE("run report: self-contained HTML with one SVG per chart", "[report]") {
  const fs::path dir = synthetic_run("full");
  const fs::path file = write_run_report(dir);
  REQUIRE(file == dir / "report.html");
  const std::string html = read(file);

  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  const TagCheck tags = check_tags(html);
  INFO(tags.error);
  REQUIRE(tags.error.empty());

  // loss, accuracy, learning rate, gradient norm, one heatmap (one MoE layer),
  // switch_aux and z_loss, load CV and dead experts (the scalars of a run written before
  // declarations count as headline series)
  CHECK(tags.opened.at("svg") == 9);
  CHECK(count(html, "<svg") == 9);
  CHECK(count(html, "</svg>") == 9);

  // Nothing from the network, no scripts.
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);

  // The heatmap: E x logged steps cells.
  CHECK(count(html, "<rect class=\"cell\"") == 4 * 4);
  CHECK(html.find("layer 1: expert load over steps") != std::string::npos);

  // Axes carry numbers: the steps, accuracy ticks.
  for (const char* tick : {">10</text>", ">20</text>", ">40</text>", ">0.4</text>", ">1.0</text>"}) {
    INFO(tick);
    CHECK(html.find(tick) != std::string::npos);
  }
  CHECK(html.find(">step</text>") != std::string::npos);

  // Text with <, > and & is escaped wherever it comes from.
  CHECK(html.find("demo &lt;b&gt;&amp;co&lt;/b&gt;") != std::string::npos);
  CHECK(html.find("<b>&co") == std::string::npos);
  CHECK(html.find("layer 0 &lt;attn&gt; &amp; stuff") != std::string::npos);

  // The corrupt line is skipped and named; the null loss is a gap, which leaves the
  // step-10 point on its own (drawn as a dot with its value).
  CHECK(html.find("skipped 1 line") != std::string::npos);
  CHECK(html.find("(line 3)") != std::string::npos);
  CHECK(html.find("<title>train loss: 10 ") != std::string::npos);

  // The header and the final metrics.
  CHECK(html.find("task copy") != std::string::npos);
  CHECK(html.find("1,234 parameters") != std::string::npos);
  CHECK(html.find("<th>eval accuracy</th><td>0.9</td>") != std::string::npos);
  // Telemetry summary: the dead expert at step 30.
  CHECK(html.find("dead_experts across layers: 0 at the first logged step, 0 at the last; highest 1 (layer 1, step 30)") !=
        std::string::npos);
  // The balance terms are named by their kind, each layer a line.
  CHECK(html.find(">switch_aux</h3>") != std::string::npos);
  CHECK(html.find(">z_loss</h3>") != std::string::npos);
}

TEST_CASE("run report: missing files and bad contents give a report that says so", "[report]") {
  SECTION("an empty folder") {
    const fs::path dir = test::fresh_temp_dir("report", "empty");
    const std::string html = read(write_run_report(dir));
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    const TagCheck tags = check_tags(html);
    INFO(tags.error);
    CHECK(tags.error.empty());
    CHECK(html.find("metrics.jsonl is missing") != std::string::npos);
    CHECK(html.find("final.json is missing") != std::string::npos);
    CHECK(html.find("config.toml is missing") != std::string::npos);
    CHECK(html.find("no data") != std::string::npos);
    // No MoE layer: no heatmap, said in words.
    CHECK(count(html, "class=\"cell\"") == 0);
    CHECK(html.find("No per-index series") != std::string::npos);
    CHECK(html.find("<h1>empty</h1>") != std::string::npos);     // named after the folder
    const std::string again = read(write_run_report(dir / ""));  // "empty/": the same name
    CHECK(again.find("<h1>empty</h1>") != std::string::npos);
  }
  SECTION("corrupt final.json and config.toml, only corrupt metrics lines") {
    const fs::path dir = test::fresh_temp_dir("report", "corrupt");
    write(dir / "final.json", "{\"steps\": ");
    write(dir / "config.toml", "[task\ntype = ");
    write(dir / "metrics.jsonl", "garbage\n[1, 2]\n{\"loss\": 1}\n{\"step\": \"ten\"}\n");
    const std::string html = read(write_run_report(dir));
    CHECK(check_tags(html).error.empty());
    CHECK(html.find("final.json does not parse") != std::string::npos);
    CHECK(html.find("config.toml does not parse") != std::string::npos);
    CHECK(html.find("skipped 4 lines") != std::string::npos);
  }
  SECTION("no folder at all is an error") {
    const fs::path dir = test::fresh_temp_dir("report", "gone") / "missing";
    CHECK_THROWS_AS(write_run_report(dir), Error);
  }
}

TEST_CASE("run report: a long run's heatmap stays light, many layers stay readable", "[report]") {
  const fs::path dir = test::fresh_temp_dir("report", "long");
  std::string metrics;
  for (int step = 1; step <= 600; ++step) {
    metrics += "{\"step\": " + std::to_string(step) + ", \"loss\": " + std::to_string(3.0 / step);
    for (int layer = 0; layer < 12; ++layer) {
      const std::string scope = "layers." + std::to_string(layer) + ".ffn";
      metrics += ", \"aux." + scope + ".balance.0.switch_aux\": 0.01";
      if (layer == 0) metrics += ", \"metric." + scope + ".load.0\": 0.4, \"metric." + scope + ".load.1\": 0.6";
    }
    metrics += "}\n";
  }
  write(dir / "metrics.jsonl", metrics);
  const std::string html = read(write_run_report(dir));
  CHECK(check_tags(html).error.empty());
  const std::size_t cells = count(html, "<rect class=\"cell\"");
  CHECK(cells > 2 * 100);
  CHECK(cells <= 2 * 240);  // neighbouring steps averaged
  CHECK(html.find("each column averages") != std::string::npos);
  // 12 layers of one balance term: drawn as mean, max and min, not twelve lines.
  CHECK(html.find("mean over 12 layers") != std::string::npos);
  CHECK(html.find(">layer 11</text>") == std::string::npos);
  // The loss falls by more than a decade: a log axis.
  CHECK(html.find("(log scale)") != std::string::npos);
}

// Detailed routing telemetry of layer 1 (4 experts): token ids 0-2, positions 0-4 and the
// co-activated pairs. Token 2 goes to expert 3 alone in the first half of training
// (steps 10, 20) and 3:1 to experts 1 and 0 in the second (30, 40), which the report shows.
std::string routing_detail(int step) {
  const std::string s = "metric.layers.1.ffn.";
  std::string out;
  for (int e = 0; e < 4; ++e) out += ", \"" + s + "token_expert.0." + std::to_string(e) + "\": 1";
  out += ", \"" + s + "token_expert.1.2\": 2, \"" + s + "token_expert.1.3\": 2";
  if (step <= 20)
    out += ", \"" + s + "token_expert.2.3\": 4";
  else
    out += ", \"" + s + "token_expert.2.1\": 3, \"" + s + "token_expert.2.0\": 1";
  for (int pos = 0; pos < 5; ++pos)
    for (int e = 0; e < 4; ++e)
      out += ", \"" + s + "position_expert." + std::to_string(pos) + "." + std::to_string(e) + "\": 0.5";
  for (int i = 0; i < 4; ++i)
    for (int j = i; j < 4; ++j)
      out += ", \"" + s + "coactivation." + std::to_string(i) + "." + std::to_string(j) + "\": " +
             (i == 0 && j == 1   ? "3"
              : i == 2 && j == 3 ? "1"
                                 : "0");
  return out;
}

TEST_CASE("run report: expert activation patterns from detailed routing telemetry", "[report]") {
  const fs::path dir = synthetic_run("patterns", 4, routing_detail);
  const std::string html = read(write_run_report(dir));
  const TagCheck tags = check_tags(html);
  INFO(tags.error);
  REQUIRE(tags.error.empty());

  // The 8 charts of a plain MoE run, plus token id x expert, position x expert and
  // co-activation for the one MoE layer.
  CHECK(tags.opened.at("svg") == 9 + 3);
  CHECK(html.find("<h2 id=\"patterns\">Expert activation patterns</h2>") != std::string::npos);
  CHECK(html.find("href=\"#patterns\"") != std::string::npos);
  CHECK(html.find("layer 1: token id \u00d7 expert") != std::string::npos);
  CHECK(html.find("layer 1: position \u00d7 expert") != std::string::npos);
  CHECK(html.find("layer 1: expert co-activation") != std::string::npos);
  // Cells: the expert load (4 experts x 4 logged steps), 3 token ids x 4 experts,
  // 5 positions x 4 experts, 4 x 4 expert pairs.
  CHECK(count(html, "<rect class=\"cell\"") == 16 + 12 + 20 + 16);

  // Summed over the second half of the 40 steps only (the logged steps 30 and 40), each
  // row normalised to sum 1: token 2 is 0.75 expert 1, 0.25 expert 0, and nothing of its
  // first-half routing to expert 3 shows.
  CHECK(html.find("training steps 21\u201340 (the second half of training)") != std::string::npos);
  CHECK(html.find("<title>token id 2, expert 1: 0.75</title>") != std::string::npos);
  CHECK(html.find("<title>token id 2, expert 0: 0.25</title>") != std::string::npos);
  CHECK(html.find("<title>token id 2, expert 3: 0</title>") != std::string::npos);
  CHECK(html.find("<title>token id 1, expert 2: 0.5</title>") != std::string::npos);
  CHECK(html.find("<title>position 4, expert 3: 0.25</title>") != std::string::npos);
  // Large enough cells print their value.
  CHECK(html.find(">0.75</text>") != std::string::npos);
  // The top-2 table: token 2's slots (4 a step over the two 10-step windows), its experts.
  CHECK(html.find("<td class=\"num\">2</td><td class=\"num\">80</td><td>1 (0.75), 0 (0.25)</td>") != std::string::npos);
  CHECK(html.find("<td>2 (0.50), 3 (0.50)</td>") != std::string::npos);
  // Co-activation: symmetric, as a share of all pairs (3 of 4 tokens took experts 0 and 1).
  CHECK(html.find("<title>expert 0, expert 1: 0.75</title>") != std::string::npos);
  CHECK(html.find("<title>expert 1, expert 0: 0.75</title>") != std::string::npos);
  CHECK(html.find("<title>expert 3, expert 2: 0.25</title>") != std::string::npos);
  CHECK(html.find("<title>expert 0, expert 0: 0</title>") != std::string::npos);
  // Drawn, so not listed as "not drawn".
  CHECK(html.find("not drawn here") == std::string::npos);

  SECTION("a MoE run without the detailed telemetry says how to get it") {
    const std::string plain = read(write_run_report(synthetic_run("no_patterns")));
    CHECK(plain.find("detailed_telemetry = true") != std::string::npos);
    CHECK(count(plain, "<svg") == 9);
  }
}

TEST_CASE("run report: many token ids and long sequences are capped", "[report]") {
  const fs::path dir = test::fresh_temp_dir("report", "patterns_capped");
  // 100 token ids (id t: t + 1 slots, all to expert t % 2) and 130 positions, 2 experts.
  std::string line = "{\"step\": 10";
  for (int t = 0; t < 100; ++t)
    line += ", \"metric.layers.0.ffn.token_expert." + std::to_string(t) + "." + std::to_string(t % 2) +
            "\": " + std::to_string(t + 1);
  for (int pos = 0; pos < 130; ++pos)
    for (int e = 0; e < 2; ++e)
      line += ", \"metric.layers.0.ffn.position_expert." + std::to_string(pos) + "." + std::to_string(e) + "\": 1";
  write(dir / "metrics.jsonl", line + "}\n");
  const std::string html = read(write_run_report(dir));
  const TagCheck tags = check_tags(html);
  INFO(tags.error);
  REQUIRE(tags.error.empty());
  // 64 token ids (the most frequent: 36 to 99) and 130 positions in 44 bins of 3, 2 experts each.
  CHECK(count(html, "<rect class=\"cell\"") == 64 * 2 + 44 * 2);
  CHECK(html.find("The 64 most frequent of 100 token ids") != std::string::npos);
  CHECK(html.find("<title>token id 36, expert 0: 1</title>") != std::string::npos);
  CHECK(html.find("<title>token id 35, ") == std::string::npos);
  CHECK(html.find("bins of 3") != std::string::npos);
  CHECK(html.find("<title>position 126\u2013128, expert 1: 0.5</title>") != std::string::npos);
  CHECK(html.find("<title>position 129, expert 0: 0.5</title>") != std::string::npos);
  // A single logged step is the whole of its window, the table of 64 rows is folded.
  CHECK(html.find("64 token ids, most frequent first") != std::string::npos);
  // (An expert without slots is not named among the top 2.)
  CHECK(html.find("<td class=\"num\">99</td><td class=\"num\">1,000</td><td>1 (1.00)</td>") != std::string::npos);
}

TEST_CASE("sweep report: summary table, overlaid curves, links to the variants", "[report]") {
  const fs::path sweep = test::fresh_temp_dir("report", "sweep");
  std::vector<SweepReportVariant> variants;
  for (int i = 0; i < 2; ++i) {
    const std::string name = "d_model-" + std::to_string(16 * (i + 1));
    fs::create_directories(sweep / name);
    std::string metrics;
    for (int step = 10; step <= 30; step += 10)
      metrics += "{\"step\": " + std::to_string(step) + ", \"loss\": " + std::to_string(1.0 / (step + i)) +
                 ", \"eval_loss\": " + std::to_string(1.2 / (step + i)) + ", \"eval_accuracy\": 0.5}\n";
    write(sweep / name / "metrics.jsonl", metrics);
    write(sweep / name / "final.json", "{\"steps\": 30, \"eval\": {\"loss\": " + std::to_string(1.2 / (30 + i)) + "}}");
    write_run_report(sweep / name);
    variants.push_back(
        {name, sweep / name, {{"model.d_model", std::to_string(16 * (i + 1))}, {"task.kind", "\"a<b\""}}});
  }
  write(sweep / "summary.csv",
        "variant,model.d_model,eval_loss,note\r\n"
        "d_model-16,16,0.04,\"plain, with comma\"\r\n"
        "d_model-32,32,0.03,\"<i>quoted \"\"x\"\"</i>\"\r\n");
  const fs::path file = write_sweep_report(sweep, variants);
  REQUIRE(file == sweep / "report.html");
  const std::string html = read(file);

  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  const TagCheck tags = check_tags(html);
  INFO(tags.error);
  REQUIRE(tags.error.empty());
  CHECK(tags.opened.at("svg") == 3);  // eval loss, eval accuracy, train loss
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);

  // The summary table: every column, CSV quoting undone, then escaped.
  for (const char* th : {"<th>variant</th>", "<th class=\"num\">model.d_model</th>", "<th class=\"num\">eval_loss</th>",
                         "<th>note</th>"}) {
    INFO(th);
    CHECK(html.find(th) != std::string::npos);
  }
  CHECK(html.find(">plain, with comma</td>") != std::string::npos);
  CHECK(html.find("&lt;i&gt;quoted &quot;x&quot;&lt;/i&gt;") != std::string::npos);

  // Each variant named by its settings in the legends, and linked relatively.
  CHECK(count(html, ">d_model=16, kind=a&lt;b</text>") == 3);
  CHECK(count(html, ">d_model=32, kind=a&lt;b</text>") == 3);
  CHECK(html.find("href=\"d_model-16/report.html\"") != std::string::npos);
  CHECK(html.find("href=\"d_model-32/report.html\"") != std::string::npos);

  SECTION("a sweep without summary.csv or metrics still renders and says so") {
    const fs::path bare = test::fresh_temp_dir("report", "bare_sweep");
    const std::string page = read(write_sweep_report(bare, {{"v", bare / "v", {}}}));
    CHECK(check_tags(page).error.empty());
    CHECK(page.find("summary.csv is missing") != std::string::npos);
    CHECK(page.find("variant v: no logged steps") != std::string::npos);
    CHECK(page.find("(not written)") != std::string::npos);
  }
}

TEST_CASE("run report: series are drawn from their declarations, whatever their names", "[report][telemetry]") {
  // A run folder as a plugin's mixer leaves it: the declarations line first, then the
  // records. No name here is one the report knows.
  const fs::path dir = test::fresh_temp_dir("report", "declared");
  write(dir / "metrics.jsonl",
        R"({"series": [{"name": "gate", "scope": "layers.0.mixer", "kind": "histogram", "axes": ["value"],)"
        R"( "edges": [0, 0.5, 1], "unit": "channels", "reduce": "last", "doc": "gate values", "headline": false},)"
        R"( {"name": "wobble", "scope": "layers.0.mixer", "kind": "scalar", "axes": [], "edges": [], "unit": "nats",)"
        R"( "reduce": "max", "doc": "how much it wobbles", "headline": true},)"
        R"( {"name": "quiet", "scope": "layers.0.mixer", "kind": "scalar", "axes": [], "edges": [], "unit": "",)"
        R"( "reduce": "mean", "doc": "", "headline": false}]})"
        "\n"
        R"({"step": 5, "loss": 1.0, "metric.layers.0.mixer.gate.0": 3, "metric.layers.0.mixer.gate.1": 5,)"
        R"( "metric.layers.0.mixer.wobble": 0.25, "metric.layers.0.mixer.quiet": 7})"
        "\n"
        R"({"step": 10, "loss": 0.5, "metric.layers.0.mixer.gate.0": 1, "metric.layers.0.mixer.gate.1": 7,)"
        R"( "metric.layers.0.mixer.wobble": 0.5, "metric.layers.0.mixer.quiet": 9})"
        "\n");
  const std::string html = read(write_run_report(dir));
  INFO(check_tags(html).error);
  REQUIRE(check_tags(html).error.empty());
  // The histogram: a heatmap with its bins as rows, captioned with its doc and reduction.
  CHECK(html.find("layer 0 mixer: value gate over steps") != std::string::npos);
  CHECK(html.find("0.5\u20131") != std::string::npos);
  CHECK(html.find("gate values; each column is the value at the last step of the logging window.") != std::string::npos);
  // The headline scalar: a summary line and a chart; the other scalar only in the table.
  CHECK(html.find("wobble nats across layers: 0.25 at the first logged step, 0.5 at the last") != std::string::npos);
  CHECK(html.find("how much it wobbles; each point is the largest value of any step in the logging window.") !=
        std::string::npos);
  CHECK(html.find("<th class=\"num\">quiet</th>") != std::string::npos);
  CHECK(html.find("quiet over steps") == std::string::npos);
}
