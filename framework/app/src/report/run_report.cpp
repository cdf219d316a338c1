// The run report: one page per run folder, built from what the folder holds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "report/html.h"
#include "report/run_data.h"
#include "report/svg_chart.h"
#include "strata/run_folder.h"
#include "strata/atomic_file.h"
#include "strata/error.h"
#include "strata/report.h"

namespace strata {

namespace fs = std::filesystem;

namespace report {

namespace {

// More lines than this in one chart (a balance term over 32 layers, say) stop being
// readable: they are drawn as the mean with the min and max across the lines instead.
constexpr std::size_t kMaxLinesPerChart = 8;

std::vector<Series> condense(std::vector<Series> lines, const std::string& what) {
  if (lines.size() <= kMaxLinesPerChart) return lines;
  std::map<double, std::vector<double>> at_step;
  for (const Series& s : lines)
    for (const Point& p : s.points)
      if (std::isfinite(p.x) && std::isfinite(p.y)) at_step[p.x].push_back(p.y);
  Series mean{"mean over " + std::to_string(lines.size()) + " " + what, {}, false, false};
  Series lo{"min", {}, false, true}, hi{"max", {}, false, true};
  for (const auto& [x, values] : at_step) {
    double sum = 0;
    for (double v : values) sum += v;
    mean.points.push_back({x, sum / double(values.size())});
    lo.points.push_back({x, *std::min_element(values.begin(), values.end())});
    hi.points.push_back({x, *std::max_element(values.begin(), values.end())});
  }
  return {mean, hi, lo};
}

std::optional<double> json_number(const std::optional<nlohmann::json>& j, std::initializer_list<const char*> path) {
  if (!j) return std::nullopt;
  const nlohmann::json* node = &*j;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
  }
  if (!node->is_number()) return std::nullopt;
  return node->get<double>();
}

// The last finite value of a key, with its step.
std::optional<Point> last_value(const std::vector<LoggedStep>& steps, const std::string& key) {
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const auto v = it->values.find(key);
    if (v != it->values.end() && std::isfinite(v->second)) return Point{double(it->step), v->second};
  }
  return std::nullopt;
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "n/a";
  char buf[64];
  if (seconds < 60)
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  else if (seconds < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", int(seconds) / 60, int(seconds) % 60);
  else
    std::snprintf(buf, sizeof buf, "%d h %02d min", int(seconds) / 3600, int(seconds) / 60 % 60);
  return buf;
}

// Every chart of a run page spans the same steps, 0 to the last, so that they line up.
LineChartSpec step_chart(const RunData& run, const std::string& title, const std::string& y_label) {
  LineChartSpec spec;
  spec.title = title;
  spec.x_label = "step";
  spec.y_label = y_label;
  spec.x_min = 0;
  double last = run.steps.empty() ? NAN : double(run.steps.back().step);
  if (run.final_json && run.final_json->contains("steps") && (*run.final_json)["steps"].is_number())
    last = std::max(std::isfinite(last) ? last : 0.0, (*run.final_json)["steps"].get<double>());
  if (std::isfinite(last) && last > 0) spec.x_max = last;
  return spec;
}

std::string paragraph(const std::string& text) { return "<p>" + escape_html(text) + "</p>\n"; }

std::string bullet_list(const std::vector<std::string>& items) {
  std::string out = "<ul>\n";
  for (const std::string& item : items) out += "<li>" + escape_html(item) + "</li>\n";
  return out + "</ul>\n";
}

// ---- header and final metrics ---------------------------------------------------------------

std::string model_line(const RunData& run) {
  std::string first = run.plan.substr(0, run.plan.find('\n'));
  if (first.rfind("model: ", 0) == 0) first = first.substr(7);
  return first;
}

std::string header_html(const RunData& run) {
  std::vector<std::string> facts;
  if (!run.task.empty()) facts.push_back("task " + run.task);
  if (const std::string m = model_line(run); !m.empty()) facts.push_back(m);
  if (const auto p = json_number(run.final_json, {"parameters"})) facts.push_back(format_count(*p) + " parameters");
  if (const auto s = json_number(run.final_json, {"steps"})) {
    std::string f = format_count(*s) + " steps";
    if (const auto t = json_number(run.final_json, {"seconds"})) f += " in " + format_seconds(*t);
    facts.push_back(f);
  }
  std::string sub;
  for (const std::string& f : facts) sub += (sub.empty() ? "" : " \u00b7 ") + f;
  // A sweep's variant is named as the variant, with its settings and the way back.
  const std::string title = run.variant ? run.variant->name : run.name;
  std::string out = "<header>\n<h1>" + escape_html(title) + "</h1>\n";
  if (run.variant) {
    std::string settings;
    for (const auto& [key, value] : run.variant->settings)
      settings += (settings.empty() ? "" : ", ") + key + " = " + value;
    out += "<p class=\"sub\">variant of the sweep <a href=\"../" + std::string(run_folder::kReportFile) + "\">" +
           escape_html(run.variant->sweep.empty() ? std::string("sweep") : run.variant->sweep) + "</a>" +
           (settings.empty() ? std::string() : ": " + escape_html(settings)) + "</p>\n";
  }
  if (!sub.empty()) out += "<p class=\"sub\">" + escape_html(sub) + "</p>\n";
  return out + "</header>\n";
}

std::string final_metrics_html(const RunData& run) {
  std::vector<std::pair<std::string, std::string>> rows;
  const auto add = [&](const std::string& name, std::optional<double> v, const std::string& suffix = {}) {
    if (v) rows.emplace_back(name, format_value(*v) + suffix);
  };
  const auto logged = [&](const std::string& key) -> std::optional<double> {
    if (const auto p = last_value(run.steps, key)) return p->y;
    return std::nullopt;
  };
  const auto either = [&](std::initializer_list<const char*> path, const std::string& key) {
    const auto v = json_number(run.final_json, path);
    return v ? v : logged(key);
  };
  add("train loss (last logging window)", either({"train_loss"}, "loss"));
  add("eval loss", either({"eval", "loss"}, "eval_loss"));
  add("eval loss before training", json_number(run.final_json, {"initial_eval", "loss"}));
  add("eval accuracy", either({"eval", "accuracy"}, "eval_accuracy"));
  add("chance accuracy", json_number(run.final_json, {"chance_accuracy"}));
  add("eval perplexity", either({"eval", "perplexity"}, "eval_perplexity"));
  if (const auto v = either({"tokens_per_s"}, "tokens_per_s")) rows.emplace_back("tokens / s", format_count(*v));
  if (const auto v = json_number(run.final_json, {"seconds"})) rows.emplace_back("training time", format_seconds(*v));
  if (const auto v = json_number(run.final_json, {"steps"}))
    rows.emplace_back("steps", format_count(*v));
  else if (!run.steps.empty())
    rows.emplace_back("last logged step", format_count(double(run.steps.back().step)));
  if (const auto v = json_number(run.final_json, {"parameters"})) rows.emplace_back("parameters", format_count(*v));
  std::string out = "<h2 id=\"final\">Final metrics</h2>\n";
  if (rows.empty()) return out + paragraph("No final metrics: final.json is missing and no step was logged.");
  if (!run.final_json) out += paragraph("From the last logged step (final.json is missing).");
  return out + key_value_table(rows);
}

// ---- curves ---------------------------------------------------------------------------------

std::string loss_and_accuracy_html(const RunData& run) {
  std::string out = "<h2 id=\"curves\">Loss and accuracy</h2>\n";
  std::vector<Series> loss{{"train loss", series_of(run.steps, "loss"), false, false},
                           {"eval loss", eval_curve(run, "eval_loss"), true, false}};
  LineChartSpec spec = step_chart(run, "Train and eval loss over steps", "loss (nats / token)");
  spec.log_y = spans_a_decade(loss);
  out += figure("Loss", line_chart_svg(spec, loss),
                "Train loss: the mean over each logging window. Eval loss: the fixed evaluation set" +
                    std::string(run.final_json ? " (step 0: before training)" : "") + "." +
                    (spec.log_y ? " Log scale: the loss falls by more than a decade." : ""));

  std::vector<Series> accuracy{{"eval accuracy", eval_curve(run, "eval_accuracy"), true, false}};
  if (const auto chance = json_number(run.final_json, {"chance_accuracy"}); chance && !run.steps.empty()) {
    const double first = std::min(0.0, double(run.steps.front().step));
    accuracy.push_back({"chance", {{first, *chance}, {double(run.steps.back().step), *chance}}, false, true});
  }
  LineChartSpec acc = step_chart(run, "Eval accuracy over steps", "accuracy");
  acc.y_min = 0;
  acc.y_max = 1;
  out += figure("Accuracy", line_chart_svg(acc, accuracy),
                "Accuracy at the positions the task scores, on the fixed evaluation set.");
  return out;
}

std::string optimisation_html(const RunData& run) {
  std::string out = "<h2 id=\"optimisation\">Optimisation</h2>\n";
  LineChartSpec lr = step_chart(run, "Learning rate over steps", "learning rate");
  lr.y_min = 0;
  std::vector<Series> lr_lines;
  if (run.schedule) {
    // Step s (1-based) trains with schedule.at(s - 1), as the trainer does; sampled so
    // that a long run stays a few hundred points.
    const LrSchedule& sched = *run.schedule;
    const std::int64_t stride = std::max<std::int64_t>(1, sched.total_steps / 400);
    Series curve{"schedule (config.toml)", {}, false, false};
    for (std::int64_t step = 1; step <= sched.total_steps; step += stride)
      curve.points.push_back({double(step), sched.at(step - 1)});
    if (curve.points.back().x != double(sched.total_steps))
      curve.points.push_back({double(sched.total_steps), sched.at(sched.total_steps - 1)});
    lr_lines.push_back(std::move(curve));
  }
  lr_lines.push_back(
      {run.schedule ? "logged" : "learning rate", series_of(run.steps, "lr"), false, false, !run.schedule.has_value()});
  out += figure("Learning-rate schedule", line_chart_svg(lr, lr_lines),
                run.schedule ? "The schedule the run's config defines (warmup, then decay), and the value logged at "
                               "each logged step."
                             : "The learning rate at each logged step.");
  std::vector<Series> grad{{"gradient norm", series_of(run.steps, "grad_norm"), false, false}};
  LineChartSpec g = step_chart(run, "Gradient norm over steps", "global gradient norm");
  g.log_y = spans_a_decade(grad);
  out += figure("Gradient norm", line_chart_svg(g, grad),
                "The global norm of the gradient before clipping, at each logged step.");
  return out;
}

// ---- per-index series: heatmaps over steps -----------------------------------------------

using Resolved = std::map<std::string, SeriesKey>;

// "expert load", "token dt": the series' first axis and its name, for titles.
std::string series_title(const MetricSeries& s) {
  return (s.axes.empty() ? std::string() : s.axes.front() + " ") + s.name;
}

// The reduction as a reader needs it, for captions.
std::string reduction_text(MetricReduce r) {
  switch (r) {
    case MetricReduce::mean:
      return "the mean per step over the logging window ending at that step";
    case MetricReduce::last:
      return "the value at the last step of the logging window";
    case MetricReduce::max:
      return "the largest value of any step in the logging window";
    case MetricReduce::sum:
      return "the total over the logging window";
  }
  return "";
}

// Every vector and histogram series: one heatmap per series, a row per index (at most
// 4096) and a column per logged step. Series of one name share a colour scale; a
// fraction has the uniform share 1/N marked on it.
std::string vector_series_html(const RunData& run, const Resolved& resolved) {
  std::string out = "<h2 id=\"load\">Per-index series</h2>\n";
  std::map<const MetricSeries*, std::map<std::int64_t, std::string>> rows;  // series -> index -> key
  for (const auto& [key, r] : resolved)
    if ((r.series->kind == MetricKind::vector || r.series->kind == MetricKind::histogram) && r.indices.size() == 1 &&
        r.indices[0] >= 0 && r.indices[0] < 4096)
      rows[r.series][r.indices[0]] = key;
  if (rows.empty()) return out + paragraph("No per-index series (expert load, ...) was logged.");
  std::vector<const MetricSeries*> order;
  for (const auto& kv : rows) order.push_back(kv.first);
  std::sort(order.begin(), order.end(), [](const MetricSeries* a, const MetricSeries* b) {
    return a->name != b->name ? a->name < b->name : scope_less(a->scope, b->scope);
  });
  out += paragraph(
      "One heatmap per series and layer: each column is a logged step, each row an index of the series (an "
      "expert, a token id, a histogram bin). Hover a cell for its value.");
  std::map<std::string, double> largest;  // name -> top of the colour scale
  for (const auto& [series, indices] : rows)
    for (const auto& kv : indices)
      for (const Point& p : series_of(run.steps, kv.second))
        if (std::isfinite(p.y)) largest[series->name] = std::max(largest[series->name], p.y);
  for (const MetricSeries* series : order) {
    const auto& indices = rows[series];
    const std::int64_t n = indices.rbegin()->first + 1;
    HeatmapSpec h;
    h.title = scope_label(series->scope) + ": " + series_title(*series) + " over steps";
    h.x_label = "step";
    h.y_label = series->axes.empty() ? "index" : series->axes.front();
    h.value_label = series->name + (series->unit.empty() ? "" : " (" + series->unit + ")");
    for (std::int64_t e = 0; e < n; ++e) {
      const bool bins = series->kind == MetricKind::histogram && std::size_t(e + 1) < series->edges.size();
      h.row_labels.push_back(bins ? format_value(series->edges[std::size_t(e)]) + "\u2013" +
                                        format_value(series->edges[std::size_t(e + 1)])
                                  : std::to_string(e));
    }
    h.values.assign(std::size_t(n), {});
    for (const LoggedStep& s : run.steps) {
      bool any = false;
      for (const auto& kv : indices) any = any || s.values.count(kv.second) > 0;
      if (!any) continue;
      h.columns.push_back(double(s.step));
      for (std::int64_t e = 0; e < n; ++e) {
        const auto k = indices.find(e);
        const auto v = k == indices.end() ? s.values.end() : s.values.find(k->second);
        h.values[std::size_t(e)].push_back(v == s.values.end() ? NAN : v->second);
      }
    }
    h.scale_max = largest[series->name];
    if (series->unit == "fraction") {
      h.reference = 1.0 / double(n);
      h.reference_label = "uniform 1/" + std::to_string(n);
    }
    const std::string caption = (series->doc.empty() ? series->name : series->doc) + "; each column is " +
                                reduction_text(series->reduce) + ".";
    out += figure(scope_label(series->scope) + ": " + series_title(*series), heatmap_svg(h), caption);
  }
  return out;
}

// ---- expert activation patterns -------------------------------------------------------------

// The detailed routing telemetry (the moe's detailed_telemetry): per layer, the kept slots
// of each token id and each sequence position per expert, and the co-activated expert
// pairs: matrix series whose declared axes are (token, expert), (position, expert) and
// (expert, expert).
// A pattern heatmap has at most this many rows: the most frequent token ids; positions
// are put in bins of equal width past it.
constexpr std::size_t kMaxPatternRows = 64;
// A top-experts table longer than this is folded away (the heatmap shows the same rows).
constexpr std::size_t kMaxOpenTableRows = 16;

using Counts = std::map<std::int64_t, std::map<std::int64_t, double>>;  // row -> expert -> slots

struct LayerPatterns {
  Counts token, position, coactivation;
  std::int64_t experts = 0;  // from every per-expert key of the layer, expert load included
};

// Which pattern a series is, by its declared axes; null for any other series.
Counts LayerPatterns::*pattern_of(const MetricSeries& s) {
  if (s.kind != MetricKind::matrix || s.axes.size() != 2 || s.axes[1] != "expert") return nullptr;
  if (s.axes[0] == "token") return &LayerPatterns::token;
  if (s.axes[0] == "position") return &LayerPatterns::position;
  if (s.axes[0] == "expert") return &LayerPatterns::coactivation;
  return nullptr;
}

bool has_expert_axis(const MetricSeries& s) { return s.kind == MetricKind::vector && s.axes == std::vector<std::string>{"expert"}; }

// The logged steps the patterns are summed over: those of the second half of training
// (so the picture is what the router learned, not its random start), each logged value
// (a mean over its logging window) weighted by the window's length, which makes the sums
// slot counts.
struct PatternSteps {
  std::vector<std::pair<const LoggedStep*, double>> steps;  // (step, weight)
  std::int64_t first = 0, last = 0;                         // the training steps covered
  bool second_half = true;                                  // false: every logged step
};

PatternSteps pattern_steps(const RunData& run) {
  PatternSteps out;
  if (run.steps.empty()) return out;
  double total = 0;
  for (const LoggedStep& s : run.steps) total = std::max(total, double(s.step));
  if (const auto t = json_number(run.final_json, {"steps"})) total = std::max(total, *t);
  const auto collect = [&](double after) {
    out.steps.clear();
    std::int64_t prev = 0;
    for (const LoggedStep& s : run.steps) {
      const double weight = s.step > prev ? double(s.step - prev) : 1.0;
      if (double(s.step) > after) {
        if (out.steps.empty()) out.first = std::min(prev + 1, s.step);
        out.steps.emplace_back(&s, weight);
        out.last = s.step;
      }
      prev = std::max(prev, s.step);
    }
  };
  collect(total / 2);
  if (out.steps.empty()) {
    out.second_half = false;
    collect(-INFINITY);
  }
  return out;
}

std::map<std::string, LayerPatterns> collect_patterns(const Resolved& resolved, const PatternSteps& window) {
  struct Parsed {
    std::string scope;
    Counts LayerPatterns::*counts;
    std::int64_t i, j;
    bool per_step;  // a mean per step: weighed by the window's length to become a count
  };
  std::map<std::string, Parsed> parsed;
  std::map<std::string, LayerPatterns> layers;
  for (const auto& [key, r] : resolved) {
    const MetricSeries& s = *r.series;
    if (has_expert_axis(s) && r.indices[0] >= 0 && r.indices[0] < 4096) {
      LayerPatterns& layer = layers[s.scope];
      layer.experts = std::max(layer.experts, r.indices[0] + 1);
    }
    Counts LayerPatterns::*counts = pattern_of(s);
    if (!counts) continue;
    const std::int64_t i = r.indices[0], j = r.indices[1];
    const bool pairs = counts == &LayerPatterns::coactivation;
    // Rows are token ids (a vocabulary below 2^24) or positions: anything larger is not
    // a key a run writes, and would make the position bins loop for ever.
    if (i < 0 || j < 0 || j >= 4096 || (pairs && i >= 4096) || i >= (std::int64_t(1) << 24)) continue;
    parsed[key] = {s.scope, counts, i, j, s.reduce == MetricReduce::mean};
    LayerPatterns& layer = layers[s.scope];
    layer.experts = std::max({layer.experts, j + 1, pairs ? i + 1 : 0});
  }
  for (const auto& [step, weight] : window.steps) {
    for (const auto& [key, value] : step->values) {
      if (!std::isfinite(value)) continue;
      const auto it = parsed.find(key);
      if (it == parsed.end()) continue;
      const Parsed& p = it->second;
      LayerPatterns& layer = layers[p.scope];
      (layer.*p.counts)[p.i][p.j] += value * (p.per_step ? weight : 1.0);
    }
  }
  // Keys that occur only outside the window still count: the layer has the telemetry.
  for (const auto& [key, p] : parsed) {
    LayerPatterns& layer = layers[p.scope];
    (layer.*p.counts).try_emplace(p.i);
  }
  return layers;
}

double row_total(const std::map<std::int64_t, double>& row) {
  double sum = 0;
  for (const auto& kv : row) sum += kv.second;
  return sum;
}

std::vector<std::string> expert_labels(std::int64_t experts) {
  std::vector<std::string> labels;
  for (std::int64_t e = 0; e < experts; ++e) labels.push_back(std::to_string(e));
  return labels;
}

// The token ids a layer's heatmap shows (at most kMaxPatternRows, the most frequent), in
// id order, and how many ids had slots at all.
std::pair<std::vector<std::int64_t>, std::size_t> shown_tokens(const Counts& token) {
  std::vector<std::pair<double, std::int64_t>> by_total;  // (-slots, id)
  for (const auto& [id, row] : token)
    if (const double t = row_total(row); t > 0) by_total.emplace_back(-t, id);
  std::sort(by_total.begin(), by_total.end());
  const std::size_t seen = by_total.size();
  if (by_total.size() > kMaxPatternRows) by_total.resize(kMaxPatternRows);
  std::vector<std::int64_t> ids;
  for (const auto& kv : by_total) ids.push_back(kv.second);
  std::sort(ids.begin(), ids.end());
  return {ids, seen};
}

// One row per shown token id (or position bin): the slots per expert.
HeatmapSpec share_heatmap(const std::string& title, const std::string& row_name, std::int64_t experts) {
  HeatmapSpec h;
  h.title = title;
  h.x_label = "expert";
  h.y_label = row_name;
  h.value_label = "share of the row's slots";
  h.column_labels = expert_labels(experts);
  h.normalise_rows = true;
  h.exact_scale = true;
  h.annotate = true;
  h.width = 560;
  if (experts > 1) {
    h.reference = 1.0 / double(experts);
    h.reference_label = "uniform share 1/" + std::to_string(experts);
  }
  return h;
}

std::vector<double> expert_row(const std::map<std::int64_t, double>& counts, std::int64_t experts) {
  std::vector<double> row(std::size_t(experts), 0.0);
  for (const auto& [e, v] : counts)
    if (e < experts) row[std::size_t(e)] += v;
  return row;
}

// The largest share of any row of any layer's token or position map: the top of one
// colour scale for all of them (with top-k routing no share exceeds 1/k).
double largest_share(const std::map<std::string, LayerPatterns>& layers) {
  double largest = 0;
  for (const auto& [scope, layer] : layers)
    for (const Counts* counts : {&layer.token, &layer.position})
      for (const auto& [id, row] : *counts)
        if (const double t = row_total(row); t > 0)
          for (const auto& kv : row) largest = std::max(largest, kv.second / t);
  return largest;
}

std::string top_experts_table(const Counts& token, const std::vector<std::int64_t>& ids, std::int64_t experts) {
  std::vector<std::int64_t> order = ids;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::int64_t a, std::int64_t b) { return row_total(token.at(a)) > row_total(token.at(b)); });
  const std::size_t top = std::size_t(std::min<std::int64_t>(2, experts));
  std::vector<std::vector<std::string>> rows;
  for (std::int64_t id : order) {
    const std::vector<double> row = expert_row(token.at(id), experts);
    const double total = row_total(token.at(id));
    std::vector<std::size_t> rank(row.size());
    for (std::size_t e = 0; e < rank.size(); ++e) rank[e] = e;
    std::stable_sort(rank.begin(), rank.end(), [&](std::size_t a, std::size_t b) { return row[a] > row[b]; });
    std::string best;
    for (std::size_t k = 0; k < top && k < rank.size() && (k == 0 || row[rank[k]] > 0); ++k) {
      char share[32];
      std::snprintf(share, sizeof share, "%.2f", total > 0 ? row[rank[k]] / total : 0.0);
      best += (k ? ", " : "") + std::to_string(rank[k]) + " (" + share + ")";
    }
    rows.push_back({std::to_string(id), format_count(total), best});
  }
  const std::string table =
      data_table({"token id", "slots", "top-" + std::to_string(top) + " experts (share of its slots)"}, rows);
  if (rows.size() <= kMaxOpenTableRows) return table;
  return "<details>\n<summary>" + std::to_string(rows.size()) + " token ids, most frequent first</summary>\n" + table +
         "</details>\n";
}

std::string coactivation_svg(const std::string& title, const Counts& co, std::int64_t experts) {
  HeatmapSpec h;
  h.title = title;
  h.x_label = "expert";
  h.y_label = "expert";
  h.value_label = "share of the pairs";
  h.column_labels = expert_labels(experts);
  h.row_labels = h.column_labels;
  h.annotate = true;
  h.width = 560;
  h.values.assign(std::size_t(experts), std::vector<double>(std::size_t(experts), 0.0));
  double total = 0;
  for (const auto& [i, row] : co)
    for (const auto& [j, v] : row)
      if (i < experts && j < experts) total += v;
  for (const auto& [i, row] : co)
    for (const auto& [j, v] : row)
      if (i < experts && j < experts && total > 0) {
        h.values[std::size_t(i)][std::size_t(j)] = v / total;
        h.values[std::size_t(j)][std::size_t(i)] = v / total;
      }
  if (experts > 1) {
    const std::int64_t pairs = experts * (experts - 1) / 2;
    h.reference = 1.0 / double(pairs);
    h.reference_label = "uniform over the " + std::to_string(pairs) + " pairs";
  }
  return heatmap_svg(h);
}

std::string expert_patterns_html(const RunData& run, const Resolved& resolved) {
  const PatternSteps window = pattern_steps(run);
  const std::map<std::string, LayerPatterns> layers = collect_patterns(resolved, window);
  if (layers.empty()) return {};  // no MoE layer: the expert-load section says so
  std::string out = "<h2 id=\"patterns\">Expert activation patterns</h2>\n";
  std::vector<std::string> scopes;
  for (const auto& [scope, layer] : layers)
    if (!layer.token.empty() || !layer.position.empty() || !layer.coactivation.empty()) scopes.push_back(scope);
  if (scopes.empty())
    return out + paragraph(
                     "No detailed routing telemetry was logged. Set detailed_telemetry = true in the moe ffn's "
                     "table (as experiments/labs/expert_patterns.toml does) to see which token ids and sequence "
                     "positions each expert processes and which experts are chosen together.");
  std::sort(scopes.begin(), scopes.end(), scope_less);
  const std::string span =
      "training steps " + format_count(double(window.first)) + "\u2013" + format_count(double(window.last));
  const std::string when = window.second_half ? span + " (the second half of training)"
                                              : span + " (every logged step: none falls in the second half)";
  out += paragraph(
      "Which experts each MoE layer uses for which tokens, from the detailed routing telemetry. The slots are "
      "summed over " +
      when +
      ", so the patterns are the ones the router learned rather than its random start. In the token id and "
      "position maps each row is normalised to sum 1: the colour is the share of that row's slots that each "
      "expert processed. With top-k routing a token's k slots go to k different experts, so no share exceeds "
      "1/k. The \u25b8 on a colour scale marks the uniform share; hover a cell for its value.");
  // One colour scale for every token and position map, 0..1/k for the largest k that
  // holds every share (top-k routing caps a share at 1/k): 0..0.5 for top-2.
  const double largest = largest_share(layers);
  const double share_max = largest > 0 ? 1.0 / std::max(1.0, std::floor(1.0 / largest + 1e-6)) : 1.0;
  for (const std::string& scope : scopes) {
    const LayerPatterns& layer = layers.at(scope);
    const std::string name = scope_label(scope);
    const std::int64_t E = std::max<std::int64_t>(layer.experts, 1);
    if (!layer.token.empty()) {
      const auto [ids, seen] = shown_tokens(layer.token);
      HeatmapSpec h = share_heatmap(name + ": token id \u00d7 expert", "token id", E);
      h.scale_max = share_max;
      for (std::int64_t id : ids) {
        h.row_labels.push_back(std::to_string(id));
        h.values.push_back(expert_row(layer.token.at(id), E));
      }
      std::string caption =
          "Row: a token id; colour: the share of that id's slots that each expert processed, " + span + ".";
      if (seen > ids.size())
        caption += " The " + std::to_string(ids.size()) + " most frequent of " + std::to_string(seen) +
                   " token ids, in id order.";
      out += figure(name + ": token id \u00d7 expert", heatmap_svg(h), caption);
      if (!ids.empty())
        out += "<h3>" + escape_html(name + ": top experts per token id") + "</h3>\n" +
               top_experts_table(layer.token, ids, E);
    }
    if (!layer.position.empty()) {
      const std::int64_t T = layer.position.rbegin()->first + 1;
      const std::int64_t bin = T > std::int64_t(kMaxPatternRows)
                                   ? (T + std::int64_t(kMaxPatternRows) - 1) / std::int64_t(kMaxPatternRows)
                                   : 1;
      HeatmapSpec h = share_heatmap(name + ": position \u00d7 expert", "position", E);
      h.scale_max = share_max;
      for (std::int64_t p0 = 0; p0 < T; p0 += bin) {
        const std::int64_t p1 = std::min(T, p0 + bin) - 1;
        h.row_labels.push_back(p0 == p1 ? std::to_string(p0) : std::to_string(p0) + "\u2013" + std::to_string(p1));
        std::vector<double> row(std::size_t(E), 0.0);
        for (std::int64_t p = p0; p <= p1; ++p)
          if (const auto it = layer.position.find(p); it != layer.position.end()) {
            const std::vector<double> r = expert_row(it->second, E);
            for (std::size_t e = 0; e < row.size(); ++e) row[e] += r[e];
          }
        h.values.push_back(std::move(row));
      }
      std::string caption =
          "Row: a position in the sequence (0 = first); colour: the share of the slots at that "
          "position that each expert processed, " +
          span + ".";
      if (bin > 1)
        caption += " The " + std::to_string(T) + " positions are put in bins of " + std::to_string(bin) + " (at most " +
                   std::to_string(kMaxPatternRows) + " rows).";
      out += figure(name + ": position \u00d7 expert", heatmap_svg(h), caption);
    }
    if (!layer.coactivation.empty()) {
      out += figure(
          name + ": expert co-activation", coactivation_svg(name + ": expert co-activation", layer.coactivation, E),
          "Cell (i, j): the tokens routed to both expert i and expert j, as a share of all "
          "co-activated pairs (top-2 routing: one pair per token), " +
              span +
              "; drawn on both sides of the diagonal. The diagonal: tokens that kept expert i alone (their "
              "other slots dropped at capacity). \u25b8: the share of each pair if the pairing were uniform.");
    }
  }
  return out;
}

// ---- balance terms --------------------------------------------------------------------------

std::string balance_html(const RunData& run, const std::vector<std::string>& keys) {
  std::string out = "<h2 id=\"balance\">Balance terms</h2>\n";
  // term -> (scope, slot, key), in scope order
  std::map<std::string, std::vector<AuxKey>> terms;
  std::map<std::string, std::vector<std::string>> term_keys;
  for (const std::string& key : keys) {
    if (const auto a = parse_aux_key(key)) {
      terms[a->term].push_back(*a);
      term_keys[a->term].push_back(key);
    }
  }
  if (terms.empty()) return out + paragraph("No auxiliary (balance) loss was logged.");
  out += paragraph(
      "The auxiliary losses added to the training loss, as logged (coefficient included), one chart "
      "per kind of term with a line per layer.");
  for (const auto& term_parts : terms) {
    const std::string& term = term_parts.first;
    const std::vector<AuxKey>& parts = term_parts.second;  // (a named reference: lambdas capture it)
    std::vector<std::size_t> order(parts.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return parts[a].scope != parts[b].scope ? scope_less(parts[a].scope, parts[b].scope)
                                              : parts[a].slot < parts[b].slot;
    });
    std::map<std::string, int> per_scope;
    for (const AuxKey& a : parts) ++per_scope[a.scope];
    std::vector<Series> lines;
    for (std::size_t i : order) {
      const AuxKey& a = parts[i];
      const std::string label = scope_label(a.scope) + (per_scope[a.scope] > 1 ? " " + a.slot : "");
      lines.push_back({label, series_of(run.steps, term_keys[term][i]), false, false});
    }
    lines = condense(std::move(lines), "layers");
    LineChartSpec spec = step_chart(run, term + " over steps", term);
    spec.log_y = spans_a_decade(lines);
    out += figure(term, line_chart_svg(spec, lines));
  }
  return out;
}

// ---- scalar series -------------------------------------------------------------------------

// Every scalar series the components declared: for each headline series a summary line and
// a chart over steps (a line per layer), then the final values of all of them per layer.
// Matrix series other than the expert patterns are named, not drawn.
std::string scalar_series_html(const RunData& run, const Resolved& resolved) {
  std::string out = "<h2 id=\"telemetry\">Component telemetry</h2>\n";
  std::map<std::string, std::map<std::string, std::string>> scalar;  // name -> scope -> key
  std::map<std::string, const MetricSeries*> declaration;             // name -> one declaration
  std::set<std::string> scopes_set, undrawn;
  for (const auto& [key, r] : resolved) {
    const MetricSeries& s = *r.series;
    if (s.kind == MetricKind::scalar) {
      scalar[s.name][s.scope] = key;
      declaration.emplace(s.name, &s);
      scopes_set.insert(s.scope);
    } else if (s.kind == MetricKind::matrix && !pattern_of(s)) {
      undrawn.insert(s.name);
    }
  }
  if (scalar.empty() && undrawn.empty()) return out + paragraph("No component telemetry was logged.");
  std::vector<std::string> scopes(scopes_set.begin(), scopes_set.end());
  std::sort(scopes.begin(), scopes.end(), scope_less);
  // Headline series first (in the order declared), then the others by name.
  std::vector<std::string> names;
  for (const MetricSeries& s : run.series)
    if (s.kind == MetricKind::scalar && s.headline && scalar.count(s.name) &&
        std::find(names.begin(), names.end(), s.name) == names.end())
      names.push_back(s.name);
  const std::size_t headlines = names.size();
  for (const auto& kv : scalar)
    if (std::find(names.begin(), names.end(), kv.first) == names.end()) names.push_back(kv.first);

  const auto range = [](double lo, double hi) {
    return lo == hi ? format_value(lo) : format_value(lo) + " to " + format_value(hi);
  };
  std::vector<std::string> lines;
  for (std::size_t n = 0; n < headlines; ++n) {
    const std::string& name = names[n];
    double first_lo = INFINITY, first_hi = -INFINITY, last_lo = INFINITY, last_hi = -INFINITY, top = -INFINITY;
    std::string top_where;
    for (const auto& [scope, key] : scalar[name]) {
      const std::vector<Point> pts = series_of(run.steps, key);
      const auto first = std::find_if(pts.begin(), pts.end(), [](const Point& p) { return std::isfinite(p.y); });
      if (first != pts.end()) {
        first_lo = std::min(first_lo, first->y);
        first_hi = std::max(first_hi, first->y);
      }
      for (const Point& p : pts)
        if (std::isfinite(p.y) && p.y > top) {
          top = p.y;
          top_where = scope_label(scope) + ", step " + format_count(p.x);
        }
      if (const auto last = last_value(run.steps, key)) {
        last_lo = std::min(last_lo, last->y);
        last_hi = std::max(last_hi, last->y);
      }
    }
    if (last_lo > last_hi) continue;
    const std::string unit = declaration[name]->unit.empty() ? "" : " " + declaration[name]->unit;
    lines.push_back(name + unit + " across layers: " + range(first_lo, first_hi) + " at the first logged step, " +
                    range(last_lo, last_hi) + " at the last; highest " + format_value(top) + " (" + top_where + ").");
  }
  if (!lines.empty()) out += bullet_list(lines);

  for (std::size_t n = 0; n < headlines; ++n) {
    const MetricSeries& d = *declaration[names[n]];
    std::vector<Series> per_layer;
    for (const std::string& scope : scopes)
      if (const auto it = scalar[names[n]].find(scope); it != scalar[names[n]].end())
        per_layer.push_back({scope_label(scope), series_of(run.steps, it->second), false, false});
    per_layer = condense(std::move(per_layer), "layers");
    LineChartSpec spec = step_chart(run, d.name + " over steps", d.name + (d.unit.empty() ? "" : " (" + d.unit + ")"));
    out += figure(d.name, line_chart_svg(spec, per_layer),
                  (d.doc.empty() ? d.name : d.doc) + "; each point is " + reduction_text(d.reduce) + ".");
  }

  std::vector<std::string> header{"layer"};
  for (const std::string& n : names) header.push_back(n);
  std::vector<std::vector<std::string>> rows;
  for (const std::string& scope : scopes) {
    std::vector<std::string> row{scope_label(scope)};
    for (const std::string& n : names) {
      const auto it = scalar[n].find(scope);
      const auto v = it == scalar[n].end() ? std::nullopt : last_value(run.steps, it->second);
      row.push_back(v ? format_value(v->y) : "");
    }
    rows.push_back(std::move(row));
  }
  if (!names.empty()) out += "<h3>Final values</h3>\n" + data_table(header, rows);
  if (!undrawn.empty()) {
    std::string names_text;
    for (const std::string& n : undrawn) names_text += (names_text.empty() ? "" : ", ") + n;
    out += paragraph("Matrix series (" + names_text + ") are in metrics.jsonl and not drawn here.");
  }
  return out;
}

// ---- model ----------------------------------------------------------------------------------

std::string model_html(const RunData& run) {
  std::string out = "<h2 id=\"model\">Model and configuration</h2>\n";
  if (!run.plan.empty())
    out += "<h3>Layer plan</h3>\n<pre>" + escape_html(run.plan) + "</pre>\n";
  else
    out += paragraph("plan.txt is missing.");
  if (!run.config_text.empty())
    out += "<details>\n<summary>Resolved configuration (config.toml)</summary>\n<pre>" + escape_html(run.config_text) +
           "</pre>\n</details>\n";
  return out;
}

std::string notes_html(const std::vector<std::string>& notes) {
  if (notes.empty()) return {};
  std::string out = "<div class=\"notes\">\n<strong>Notes on this report</strong>\n<ul>\n";
  for (const std::string& n : notes) out += "<li>" + escape_html(n) + "</li>\n";
  return out + "</ul>\n</div>\n";
}

std::string render_run_page(const RunData& run) {
  const std::vector<std::string> keys = all_keys(run.steps);
  const Resolved resolved = resolve_series_keys(run, keys);
  std::string page = page_begin(run.name + " \u2014 strata run report");
  page += header_html(run);
  const std::string patterns = expert_patterns_html(run, resolved);
  page +=
      "<nav class=\"toc\"><a href=\"#final\">Final metrics</a> \u00b7 <a href=\"#curves\">Loss and accuracy</a> "
      "\u00b7 <a href=\"#optimisation\">Optimisation</a> \u00b7 <a href=\"#load\">Per-index series</a> \u00b7 " +
      std::string(patterns.empty() ? "" : "<a href=\"#patterns\">Expert patterns</a> \u00b7 ") +
      "<a href=\"#balance\">Balance terms</a> \u00b7 <a href=\"#telemetry\">Component telemetry</a> \u00b7 "
      "<a href=\"#model\">Model</a></nav>\n";
  page += notes_html(run.notes);
  page += final_metrics_html(run);
  page += loss_and_accuracy_html(run);
  page += optimisation_html(run);
  page += vector_series_html(run, resolved);
  page += patterns;
  page += balance_html(run, keys);
  page += scalar_series_html(run, resolved);
  page += model_html(run);
  page += "<p class=\"foot\">Written by strata from the run folder " + escape_html(run.folder.string()) +
          ". Hover a point or a heatmap cell to see its value.</p>\n";
  return page + page_end();
}

}  // namespace

}  // namespace report

fs::path write_run_report(const fs::path& run_folder) {
  std::error_code ec;
  if (!fs::is_directory(run_folder, ec)) {
    throw Error("cannot write a run report: " + run_folder.string() + " is not a folder",
                "pass the run folder that `strata run` wrote (it holds metrics.jsonl)");
  }
  const report::RunData run = report::read_run_folder(run_folder);
  const fs::path file = run_folder / run_folder::kReportFile;
  write_text_atomically(file, report::render_run_page(run));
  return file;
}

}  // namespace strata
