#include "report/comparison_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/html.h"
#include "strata/run_folder.h"

namespace strata::report {

namespace fs = std::filesystem;

namespace {

// Past this many variants a chart's legend names the first ones and counts the rest.
constexpr std::size_t kMaxLegend = 16;

std::string label_of(const Comparison& c, const std::string& key) {
  const MetricColumn* m = c.metric(key);
  return m ? m->label : key;
}

// The mean's cell: its interval's half-width in a quieter span.
std::string mean_and_interval_html(const Stats& s) {
  if (s.n == 0) return "";
  const std::string text = mean_and_interval(s);
  const std::size_t pm = text.find(" \u00b1");
  if (pm == std::string::npos) return escape_html(text);
  return escape_html(text.substr(0, pm)) + " <span class=\"pm\">" + escape_html(text.substr(pm + 1)) + "</span>";
}

// The variant's colour; past the palette's 8 colours hollow, as its line is dashed.
std::string swatch(std::size_t variant) {
  const std::string& colour = series_colour(variant);
  return "<span class=\"swatch\" style=\"" +
         (variant < 8 ? "background:" + colour : "border:2px solid " + colour + ";width:6px;height:6px") + "\"></span>";
}

std::string ranking_html(const Comparison& c, const fs::path& page_folder) {
  const std::vector<std::string> columns = ranked_columns(c);
  const ComparedVariant& reference = c.variants[c.reference];
  std::string out = "<h2 id=\"ranking\">Ranking</h2>\n<p>The " + std::to_string(c.variants.size()) +
                    " variants by " + escape_html(label_of(c, c.primary)) +
                    ", lowest first. Each cell is the mean over the variant's seeds";
  const bool any_interval = std::any_of(c.variants.begin(), c.variants.end(),
                                        [](const ComparedVariant& v) { return v.runs.size() >= 2; });
  const bool all_intervals = std::all_of(c.variants.begin(), c.variants.end(),
                                         [](const ComparedVariant& v) { return v.runs.size() >= 2; });
  if (any_interval) out += " \u00b1 the half-width of its 95% interval";
  out += any_interval ? (all_intervals ? "" : " (a variant of one seed has none)") : " (one seed each: no intervals)";
  out += c.seeded ? "; <b>bold</b>: differs from <i>" + escape_html(reference.label) +
                        "</i> beyond seed noise (next section)."
                  : ".";
  out += " The columns after eval accuracy are the components' declared metrics that separate the variants most.</p>\n";
  out += "<div class=\"wide\">\n<table class=\"ranking\">\n<thead><tr><th>#</th><th>variant</th><th class=\"num\">seeds</th>";
  for (const std::string& key : columns) {
    const MetricColumn* m = c.metric(key);
    out += "<th class=\"num\" title=\"" + escape_html(m ? m->doc : key) + "\">" + escape_html(label_of(c, key)) + "</th>";
  }
  out += "</tr></thead>\n<tbody>\n";
  for (std::size_t rank = 0; rank < c.ranking.size(); ++rank) {
    const std::size_t v = c.ranking[rank];
    const ComparedVariant& variant = c.variants[v];
    const fs::path report = c.runs[variant.runs.front()].folder / run_folder::kReportFile;
    std::error_code ec;
    std::string name = escape_html(variant.label);
    if (fs::exists(report, ec)) name = "<a href=\"" + escape_html(relative_link(page_folder, report)) + "\">" + name + "</a>";
    out += "<tr><td>" + std::to_string(rank + 1) + "</td><td>" + swatch(v) + name +
           (v == c.reference ? " <span class=\"pm\">(reference)</span>" : "") + "</td><td class=\"num\">" +
           std::to_string(variant.runs.size()) + "</td>";
    for (const std::string& key : columns)
      out += std::string("<td class=\"num") + (c.differs(key, v) ? " strong" : "") + "\">" +
             mean_and_interval_html(variant.stats.at(key)) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n</div>\n";
}

std::string noise_html(const Comparison& c) {
  std::string out = "<h2 id=\"noise\">Beyond seed noise</h2>\n";
  const std::vector<std::string> statements = noise_statements(c);
  if (!c.seeded) return out + "<p>" + escape_html(statements.front()) + "</p>\n";
  out += "<p>" + escape_html(statements.front()) + "</p>\n<ul class=\"noise\">\n";
  for (std::size_t i = 1; i < statements.size(); ++i) out += "<li>" + escape_html(statements[i]) + "</li>\n";
  return out + "</ul>\n";
}

ScatterPoint point_of(const ComparedVariant& v, const std::string& x_key, const std::string& y_key) {
  const Stats& x = v.stats.at(x_key);
  const Stats& y = v.stats.at(y_key);
  ScatterPoint p;
  p.label = v.label;
  p.x = x.n ? x.mean : NAN;
  p.y = y.n ? y.mean : NAN;
  if (x.interval()) p.x_low = x.low, p.x_high = x.high;
  if (y.interval()) p.y_low = y.low, p.y_high = y.high;
  return p;
}

std::string tradeoff_html(const Comparison& c) {
  std::string x_key = c.distinguishing.empty() ? "tokens_per_s" : c.distinguishing.front();
  if (!c.metric(x_key) || !c.metric(c.primary)) return {};
  std::vector<ScatterPoint> points;
  for (const ComparedVariant& v : c.variants) points.push_back(point_of(v, x_key, c.primary));
  ScatterChartSpec spec;
  spec.title = label_of(c, c.primary) + " against " + label_of(c, x_key);
  spec.x_label = label_of(c, x_key);
  spec.y_label = label_of(c, c.primary);
  spec.width = 1100;
  spec.height = 420;
  std::string caption = "One point per variant, coloured as in the charts below (a label that would overlap another is left to the point's tooltip)";
  caption += c.seeded ? ", with the 95% intervals of both means." : ".";
  caption += c.distinguishing.empty() ? " The x axis is throughput: no declared metric varies between the variants."
                                      : " The x axis is the declared metric that separates the variants most.";
  return "<h2 id=\"tradeoff\">Trade-off</h2>\n<figure>\n" + scatter_chart_svg(spec, points) + "<figcaption>" +
         escape_html(caption) + "</figcaption>\n</figure>\n";
}

// Zoology's view of recall against memory: the primary metric (accuracy first) against each
// variant's decoding state, when the variants' states differ.
std::string state_size_html(const Comparison& c) {
  const std::string y_key = c.metric("eval_accuracy") ? "eval_accuracy" : c.primary;
  if (!c.metric("state_bytes") || !c.metric(y_key)) return {};
  double lo = INFINITY, hi = -INFINITY;
  std::vector<ScatterPoint> points;
  for (const ComparedVariant& v : c.variants) {
    if (!v.stats.count("state_bytes") || !v.stats.count(y_key)) continue;
    points.push_back(point_of(v, "state_bytes", y_key));
    lo = std::min(lo, points.back().x);
    hi = std::max(hi, points.back().x);
  }
  if (!(hi > lo)) return {};
  ScatterChartSpec spec;
  spec.title = label_of(c, y_key) + " against the decoding state";
  spec.x_label = "state bytes per sequence";
  spec.y_label = label_of(c, y_key);
  spec.width = 1100;
  spec.height = 420;
  spec.log_x = true;
  return "<h2 id=\"state\">Against the state size</h2>\n<figure>\n" + scatter_chart_svg(spec, points) +
         "<figcaption>" +
         escape_html("One point per variant: the decoding state of one sequence after the task's sequence length "
                     "(attention's KV cache, Mamba's conv and SSM states), as Zoology compares recall against "
                     "recurrent state size (Arora et al. 2023).") +
         "</figcaption>\n</figure>\n";
}

std::string curves_html(const Comparison& c) {
  std::vector<std::string> keys;
  for (const char* key : {"eval_loss", "train_loss", "eval_accuracy", "eval_perplexity"})
    if (c.metric(key)) keys.push_back(key);
  for (const std::string& key : c.distinguishing) keys.push_back(key);
  for (const MetricColumn& m : c.metrics)  // every declared metric, the constant ones last
    if (m.declared && std::find(keys.begin(), keys.end(), m.key) == keys.end()) keys.push_back(m.key);
  std::string out = "<h2 id=\"curves\">Metrics over steps</h2>\n<p>One line per variant";
  out += c.seeded ? ": the mean over its seeds, shaded \u00b11 standard deviation." : ".";
  out += " Eval curves start at step 0 (before training) when the runs record it; the components' metrics are the "
         "mean over the layers that log them, their auxiliary losses the sum.</p>\n<div class=\"charts\">\n";
  for (const std::string& key : keys) {
    std::vector<Series> lines;  // the variants that have the metric (each in its own colour throughout)
    for (std::size_t v = 0; v < c.variants.size(); ++v) {
      Series line = variant_curve(c, v, key);
      if (std::none_of(line.points.begin(), line.points.end(), [](const Point& p) { return std::isfinite(p.y); }))
        continue;
      line.markers = key.rfind("eval_", 0) == 0;
      line.colour = v;
      lines.push_back(std::move(line));
    }
    if (lines.empty()) continue;
    LineChartSpec spec;
    spec.title = label_of(c, key) + " of every variant";
    spec.x_label = "step";
    spec.y_label = label_of(c, key);
    spec.width = 560;
    spec.height = 280;
    spec.max_legend = kMaxLegend;
    if (key == "eval_accuracy") spec.y_min = 0, spec.y_max = 1;
    else spec.log_y = spans_a_decade(lines);
    const MetricColumn* m = c.metric(key);
    out += "<div>\n" + figure(label_of(c, key), line_chart_svg(spec, lines), m ? m->doc : std::string()) + "</div>\n";
  }
  return out + "</div>\n";
}

std::string all_metrics_html(const Comparison& c) {
  std::string out =
      "<h2 id=\"all\">All final metrics</h2>\n<details>\n<summary>Every final metric of every variant (mean \u00b1 "
      "95% interval half-width)</summary>\n<div class=\"wide\">\n<table>\n<thead><tr><th>variant</th>";
  for (const MetricColumn& m : c.metrics)
    out += "<th class=\"num\" title=\"" + escape_html(m.doc) + "\">" + escape_html(m.label) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (std::size_t v : c.ranking) {
    out += "<tr><td>" + swatch(v) + escape_html(c.variants[v].label) + "</td>";
    for (const MetricColumn& m : c.metrics)
      out += std::string("<td class=\"num") + (c.differs(m.key, v) ? " strong" : "") + "\" style=\"white-space:nowrap\">" +
             mean_and_interval_html(c.variants[v].stats.at(m.key)) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n</div>\n</details>\n";
}

}  // namespace

std::string mean_and_interval(const Stats& s) {
  if (s.n == 0) return "-";
  if (!s.interval()) return format_value(s.mean);
  const double half = (s.high - s.low) / 2;
  if (!(half > 0) || !std::isfinite(half)) return format_value(s.mean) + " \u00b10";
  const int decimals = std::clamp(1 - int(std::floor(std::log10(half))), 0, 8);
  if (std::fabs(s.mean) >= 1e6 || (decimals >= 8 && std::fabs(s.mean) < 1e-3))
    return format_value(s.mean) + " \u00b1" + format_value(half);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*f \u00b1%.*f", decimals, s.mean, decimals, half);
  return buf;
}

std::vector<std::string> ranked_columns(const Comparison& c, std::size_t max_columns) {
  std::vector<std::string> columns;
  if (c.metric(c.primary)) columns.push_back(c.primary);
  if (c.primary != "eval_accuracy" && c.metric("eval_accuracy")) columns.push_back("eval_accuracy");
  for (const std::string& key : c.distinguishing)
    if (columns.size() < max_columns) columns.push_back(key);
  return columns;
}

std::vector<std::string> noise_statements(const Comparison& c) {
  std::vector<std::string> out;
  if (c.variants.size() < 2) return {"One variant: nothing to compare."};
  const std::string advice =
      "run every variant with several seeds ([sweep] seeds = [0, 1, 2], or --seeds 0,1,2)";
  if (!c.seeded) {
    out.push_back("The variants ran with a single seed, so their differences cannot be told from seed noise: " + advice +
                  ".");
    return out;
  }
  const ComparedVariant& ref = c.variants[c.reference];
  std::vector<std::string> untested;
  for (std::size_t v : c.ranking)
    if (v != c.reference && c.variants[v].runs.size() < 2) untested.push_back(c.variants[v].label);
  out.push_back("Each variant against " + ref.label + (c.reference == 0 ? "" : " (the first variant with two or more seeds)") +
                ": Welch's t-test over the seeds, p < 0.05 for each comparison; \"Holm\" counts those that also "
                "survive Holm's correction for the number of variants compared on that metric.");
  const auto list = [](const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& i : items) text += (text.empty() ? "" : ", ") + i;
    return text;
  };
  for (const std::string& key : ranked_columns(c)) {
    const Stats& r = ref.stats.at(key);
    std::string s = label_of(c, key) + " (" + ref.label + ": " + mean_and_interval(r) + "): ";
    if (r.n < 2) {
      out.push_back(s + "not tested: the reference has this metric in fewer than two seeds.");
      continue;
    }
    std::vector<std::string> differ, within;
    std::size_t corrected = 0;
    for (std::size_t v : c.ranking) {
      // Tested: a p-value exists (two or more values on both sides).
      if (v == c.reference || std::isnan(c.p_value.at(key)[v])) continue;
      corrected += c.differs(key, v, true);
      if (c.differs(key, v))
        differ.push_back(c.variants[v].label + " " + mean_and_interval(c.variants[v].stats.at(key)));
      else
        within.push_back(c.variants[v].label);
    }
    const std::size_t compared = differ.size() + within.size();
    if (compared == 0)
      s += "no variant has it in two or more seeds: not tested.";
    else if (differ.empty())
      s += "no variant differs beyond seed noise.";
    else
      s += std::to_string(differ.size()) + " of " + std::to_string(compared) +
           (compared == 1 ? " variant differs" : " variants differ") + " beyond seed noise: " + list(differ) +
           (within.empty() ? "" : "; within noise: " + list(within)) + " (Holm: " + std::to_string(corrected) + " of " +
           std::to_string(differ.size()) + ").";
    out.push_back(s);
  }
  if (!untested.empty())
    out.push_back("Not tested, a single seed each: " + list(untested) + " (" + advice + ").");
  return out;
}

std::string comparison_sections(const Comparison& c, const fs::path& page_folder,
                                std::vector<std::pair<std::string, std::string>>& toc) {
  if (c.variants.empty()) return "<p>No runs to compare.</p>\n";
  std::string out = ranking_html(c, page_folder);
  toc.emplace_back("ranking", "Ranking");
  out += noise_html(c);
  toc.emplace_back("noise", "Beyond seed noise");
  if (const std::string state = state_size_html(c); !state.empty()) {
    out += state;
    toc.emplace_back("state", "Against the state size");
  }
  if (const std::string tradeoff = tradeoff_html(c); !tradeoff.empty()) {
    out += tradeoff;
    toc.emplace_back("tradeoff", "Trade-off");
  }
  out += curves_html(c);
  toc.emplace_back("curves", "Metrics over steps");
  out += all_metrics_html(c);
  toc.emplace_back("all", "All final metrics");
  return out;
}

}  // namespace strata::report
