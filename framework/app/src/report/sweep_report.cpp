// The sweep report: the comparison of its variants over their seeds (report/comparison_page.h),
// then every run's row of summary.csv and a link to each run's own report.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "report/comparison.h"
#include "report/comparison_page.h"
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

std::string summary_table_html(const fs::path& sweep_folder, std::vector<std::string>& notes) {
  std::string out = "<h2 id=\"summary\">Runs</h2>\n";
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
  return out + "<p>One row per run (each variant and seed), from summary.csv" +
         (rounded ? std::string(" (numbers rounded to 4 significant digits; the file has them in full)") : "") +
         ".</p>\n" + data_table(header, rows);
}

std::string page(const fs::path& sweep_folder, const std::vector<SweepReportVariant>& variants) {
  std::vector<RunData> runs;
  std::vector<std::string> notes;
  for (const auto& v : variants) {
    runs.push_back(read_run_folder(v.folder));
    if (!runs.back().variant) runs.back().variant = run_folder::VariantInfo{"", v.name, v.settings};  // variant.json lost
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

  const Comparison comparison = compare_runs(std::move(runs));
  notes.insert(notes.end(), comparison.notes.begin(), comparison.notes.end());
  std::string sub = "sweep \u00b7 " + std::to_string(comparison.variants.size()) +
                    (comparison.variants.size() == 1 ? " variant" : " variants");
  if (comparison.variants.size() != variants.size()) sub += " \u00d7 seeds, " + std::to_string(variants.size()) + " runs";
  if (!axes.empty()) {
    std::string list;
    for (const std::string& a : axes) list += (list.empty() ? "" : ", ") + a;
    sub += " \u00b7 axes: " + list;
  }

  std::vector<std::pair<std::string, std::string>> toc;
  std::string body = comparison_sections(comparison, sweep_folder, toc);
  body += summary_table_html(sweep_folder, notes);
  toc.emplace_back("summary", "Runs");
  body += "<h3>Each run's report</h3>\n<p>";
  for (std::size_t i = 0; i < variants.size(); ++i) {
    const fs::path report_file = variants[i].folder / run_folder::kReportFile;
    std::error_code ec;
    body += std::string(i ? " \u00b7 " : "") + "<a href=\"" + escape_html(relative_link(sweep_folder, report_file)) +
            "\">" + escape_html(variants[i].name) + "</a>" + (fs::exists(report_file, ec) ? "" : " (not written)");
  }
  body += "</p>\n";

  std::string out = page_begin(name + " \u2014 strata sweep report", true);
  out += "<header>\n<h1>" + escape_html(name) + "</h1>\n<p class=\"sub\">" + escape_html(sub) + "</p>\n</header>\n";
  out += "<nav class=\"toc\">";
  for (std::size_t i = 0; i < toc.size(); ++i)
    out += std::string(i ? " \u00b7 " : "") + "<a href=\"#" + toc[i].first + "\">" + escape_html(toc[i].second) + "</a>";
  out += "</nav>\n";
  if (!notes.empty()) {
    out += "<div class=\"notes\">\n<strong>Notes on this report</strong>\n<ul>\n";
    for (const std::string& n : notes) out += "<li>" + escape_html(n) + "</li>\n";
    out += "</ul>\n</div>\n";
  }
  out += body;
  out += "<p class=\"foot\">Written by strata from the sweep folder " + escape_html(sweep_folder.string()) +
         ". Hover a point or a column heading for details.</p>\n";
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
