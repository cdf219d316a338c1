// The sweep report: the summary table across variants, their curves overlaid, and links
// to each variant's own report.
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

// Past this many variants the legend names the first ones and counts the rest; colours
// repeat (dashed) after eight.
constexpr std::size_t kMaxLegendVariants = 12;

std::string last_part(const std::string& key) {
  const std::size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string unquoted(const std::string& value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') return value.substr(1, value.size() - 2);
  return value;
}

// "d_model=64, seed=1": each axis by the last part of its key, unless two axes share it.
std::vector<std::string> variant_labels(const std::vector<SweepReportVariant>& variants) {
  std::map<std::string, std::set<std::string>> keys_by_last;
  for (const auto& v : variants)
    for (const auto& [key, value] : v.settings) keys_by_last[last_part(key)].insert(key);
  std::vector<std::string> labels;
  for (const auto& v : variants) {
    std::string label;
    for (const auto& [key, value] : v.settings) {
      const std::string name = keys_by_last[last_part(key)].size() > 1 ? key : last_part(key);
      label += (label.empty() ? "" : ", ") + name + "=" + unquoted(value);
    }
    labels.push_back(label.empty() ? v.name : label);
  }
  return labels;
}

// A relative URL from the sweep folder to `target`, percent-encoded.
std::string relative_link(const fs::path& from_folder, const fs::path& target) {
  fs::path base = absolute_path(from_folder);
  if (!base.has_filename()) base = base.parent_path();
  const fs::path to = absolute_path(target);
  fs::path rel = to.lexically_relative(base);
  if (rel.empty()) rel = to;
  std::string out;
  for (unsigned char c : rel.generic_string()) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(char(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", unsigned(c));
      out += buf;
    }
  }
  return out;
}

std::string summary_table_html(const fs::path& sweep_folder, std::vector<std::string>& notes) {
  std::string out = "<h2 id=\"summary\">Summary</h2>\n";
  const auto csv = read_csv(sweep_folder / run_folder::kSweepSummaryCsv);
  if (!csv) {
    notes.push_back("summary.csv is missing: no summary table");
    return out + "<p>summary.csv is missing.</p>\n";
  }
  if (csv->empty()) {
    notes.push_back("summary.csv is empty");
    return out + "<p>summary.csv is empty.</p>\n";
  }
  std::vector<std::string> header = csv->front();
  std::size_t columns = header.size();
  for (const auto& row : *csv) columns = std::max(columns, row.size());
  header.resize(columns);
  std::vector<std::vector<std::string>> rows(csv->begin() + 1, csv->end());
  bool rounded = false;
  for (auto& row : rows) {
    row.resize(columns);
    for (std::string& cell : row) {  // 0.0022420496493577957 -> 0.002242
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (cell.empty() || end != cell.c_str() + cell.size() || !std::isfinite(v)) continue;
      const std::string shorter = format_value(v);
      if (shorter.size() < cell.size()) {
        cell = shorter;
        rounded = true;
      }
    }
  }
  return out + "<p>One row per variant, from summary.csv" +
         (rounded ? std::string(" (numbers rounded to 4 significant digits; the file has them in full)") : "") +
         ".</p>\n" + data_table(header, rows);
}

std::string page(const fs::path& sweep_folder, const std::vector<SweepReportVariant>& variants) {
  std::vector<std::string> notes;
  const std::vector<std::string> labels = variant_labels(variants);
  std::vector<RunData> runs;
  for (const auto& v : variants) {
    runs.push_back(read_run_folder(v.folder));
    if (runs.back().steps.empty()) notes.push_back("variant " + v.name + ": no logged steps in " + v.folder.string());
  }

  // The experiment's name, as its variants record it; else the folder's.
  std::string name;
  for (const RunData& r : runs)
    if (name.empty() && r.variant) name = r.variant->sweep;
  if (name.empty()) name = folder_name(sweep_folder);
  if (name.empty()) name = "sweep";
  std::set<std::string> axes;
  for (const auto& v : variants)
    for (const auto& kv : v.settings) axes.insert(kv.first);
  std::string sub = std::to_string(variants.size()) + (variants.size() == 1 ? " variant" : " variants");
  if (!axes.empty()) {
    sub += " \u00b7 axes: ";
    std::string list;
    for (const std::string& a : axes) list += (list.empty() ? "" : ", ") + a;
    sub += list;
  }

  std::string body = summary_table_html(sweep_folder, notes);

  body +=
      "<h2 id=\"variants\">Variants</h2>\n<table>\n<thead><tr><th>variant</th><th>settings</th><th>report</th>"
      "</tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const fs::path report_file = variants[i].folder / run_folder::kReportFile;
    std::error_code ec;
    const bool exists = fs::exists(report_file, ec);
    body += "<tr><td>" + escape_html(variants[i].name) + "</td><td>" + escape_html(labels[i]) + "</td><td><a href=\"" +
            escape_html(relative_link(sweep_folder, report_file)) + "\">report.html</a>" +
            (exists ? "" : " (not written)") + "</td></tr>\n";
  }
  body += "</tbody>\n</table>\n";

  body += "<h2 id=\"curves\">Curves</h2>\n";
  body +=
      "<p>Every variant on one chart, named by its settings; eval curves start at step 0 (before training) when "
      "the variant's final.json records it.</p>\n";
  const auto overlay = [&](const std::string& key, bool eval) {
    std::vector<Series> lines;
    for (std::size_t i = 0; i < runs.size(); ++i)
      lines.push_back({labels[i], eval ? eval_curve(runs[i], key) : series_of(runs[i].steps, key), eval, false});
    return lines;
  };
  {
    const std::vector<Series> lines = overlay("eval_loss", true);
    LineChartSpec spec;
    spec.title = "Eval loss of every variant";
    spec.x_label = "step";
    spec.y_label = "eval loss";
    spec.log_y = spans_a_decade(lines);
    spec.max_legend = kMaxLegendVariants;
    body += figure("Eval loss", line_chart_svg(spec, lines));
  }
  {
    LineChartSpec spec;
    spec.title = "Eval accuracy of every variant";
    spec.x_label = "step";
    spec.y_label = "eval accuracy";
    spec.y_min = 0;
    spec.y_max = 1;
    spec.max_legend = kMaxLegendVariants;
    body += figure("Eval accuracy", line_chart_svg(spec, overlay("eval_accuracy", true)));
  }
  {
    const std::vector<Series> lines = overlay("loss", false);
    LineChartSpec spec;
    spec.title = "Train loss of every variant";
    spec.x_label = "step";
    spec.y_label = "train loss";
    spec.log_y = spans_a_decade(lines);
    spec.max_legend = kMaxLegendVariants;
    body += figure("Train loss", line_chart_svg(spec, lines), "The mean train loss over each logging window.");
  }

  std::string out = page_begin(name + " \u2014 strata sweep report");
  out += "<header>\n<h1>" + escape_html(name) + "</h1>\n<p class=\"sub\">" + escape_html("sweep \u00b7 " + sub) +
         "</p>\n</header>\n";
  out +=
      "<nav class=\"toc\"><a href=\"#summary\">Summary</a> \u00b7 <a href=\"#variants\">Variants</a> \u00b7 "
      "<a href=\"#curves\">Curves</a></nav>\n";
  if (!notes.empty()) {
    out += "<div class=\"notes\">\n<strong>Notes on this report</strong>\n<ul>\n";
    for (const std::string& n : notes) out += "<li>" + escape_html(n) + "</li>\n";
    out += "</ul>\n</div>\n";
  }
  out += body;
  out += "<p class=\"foot\">Written by strata from the sweep folder " + escape_html(sweep_folder.string()) +
         ". Hover a point to see its value.</p>\n";
  return out + page_end();
}

}  // namespace

}  // namespace report

fs::path write_sweep_report(const fs::path& sweep_folder, const std::vector<SweepReportVariant>& variants) {
  std::error_code ec;
  if (!fs::is_directory(sweep_folder, ec)) {
    throw Error("cannot write a sweep report: " + sweep_folder.string() + " is not a folder",
                "pass the sweep folder that holds summary.csv and the variants' folders");
  }
  const fs::path file = sweep_folder / run_folder::kReportFile;
  write_text_atomically(file, report::page(sweep_folder, variants));
  return file;
}

}  // namespace strata
