// `strata compare`: the runs named on the command line as one comparison, in the terminal
// and as an HTML page (report/comparison_page.h).
#include <algorithm>
#include <set>

#include "report/comparison.h"
#include "report/comparison_page.h"
#include "report/html.h"
#include "strata/atomic_file.h"
#include "strata/compare.h"
#include "strata/error.h"
#include "strata/run_folder.h"

namespace strata {

namespace fs = std::filesystem;

namespace {

bool is_run_folder(const fs::path& folder) {
  std::error_code ec;
  for (const char* file : {run_folder::kConfigFile, run_folder::kMetricsFile, run_folder::kFinalFile})
    if (fs::is_regular_file(folder / file, ec)) return true;
  return false;
}

// The code points of `text` (for padding UTF-8 labels such as "+-").
std::size_t display_width(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string padded(const std::string& text, std::size_t width, bool right) {
  const std::size_t w = display_width(text);
  const std::string pad(w < width ? width - w : 0, ' ');
  return right ? pad + text : text + pad;
}

// The ranked table with as many metric columns as fit in `width`.
std::string text_table(const report::Comparison& c, int width) {
  std::vector<std::string> columns = report::ranked_columns(c, 8);
  for (;;) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header{"#", "variant", "seeds"};
    for (const std::string& key : columns) header.push_back(c.metric(key) ? c.metric(key)->label : key);
    for (std::size_t rank = 0; rank < c.ranking.size(); ++rank) {
      const report::ComparedVariant& v = c.variants[c.ranking[rank]];
      std::vector<std::string> row{std::to_string(rank + 1), v.label, std::to_string(v.runs.size())};
      for (const std::string& key : columns)
        row.push_back(report::mean_and_interval(v.stats.at(key)) + (c.differs(key, c.ranking[rank]) ? " *" : ""));
      rows.push_back(std::move(row));
    }
    std::vector<std::size_t> widths(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
      widths[i] = display_width(header[i]);
      for (const auto& row : rows) widths[i] = std::max(widths[i], display_width(row[i]));
    }
    std::size_t total = 0;
    for (std::size_t w : widths) total += w + 2;
    if (total > std::size_t(std::max(width, 40)) && columns.size() > 1) {
      columns.pop_back();
      continue;
    }
    std::string out;
    const auto line = [&](const std::vector<std::string>& cells) {
      std::string text;
      for (std::size_t i = 0; i < cells.size(); ++i) text += (i ? "  " : "") + padded(cells[i], widths[i], i != 1);
      while (!text.empty() && text.back() == ' ') text.pop_back();
      out += text + "\n";
    };
    line(header);
    for (const auto& row : rows) line(row);
    return out;
  }
}

}  // namespace

std::vector<fs::path> runs_to_compare(const std::vector<fs::path>& paths) {
  std::vector<fs::path> runs;
  for (const fs::path& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec))
      throw FileFormatError(path.string() + ": not a folder", "pass run folders or sweep folders (what strata run --out wrote)");
    if (is_run_folder(path)) {
      runs.push_back(path);
      continue;
    }
    std::vector<fs::path> inside;
    std::set<std::string> listed;
    if (const auto csv = report::read_csv(path / run_folder::kSweepSummaryCsv); csv && csv->size() > 1) {
      for (std::size_t r = 1; r < csv->size(); ++r)
        if (!(*csv)[r].empty() && is_run_folder(path / (*csv)[r].front()) && listed.insert((*csv)[r].front()).second)
          inside.push_back(path / (*csv)[r].front());
    }
    std::vector<fs::path> unlisted;
    for (const fs::directory_entry& e : fs::directory_iterator(path, ec))
      if (e.is_directory(ec) && is_run_folder(e.path()) && !listed.count(e.path().filename().string()))
        unlisted.push_back(e.path());
    std::sort(unlisted.begin(), unlisted.end());
    inside.insert(inside.end(), unlisted.begin(), unlisted.end());
    if (inside.empty())
      throw FileFormatError(path.string() + ": neither a run folder nor a sweep folder (no config.toml, metrics.jsonl "
                                            "or final.json in it or in its subfolders)",
                            "pass what strata run --out wrote: a run's folder, or a sweep's");
    runs.insert(runs.end(), inside.begin(), inside.end());
  }
  return runs;
}

ComparisonSummary compare_runs_and_report(const std::vector<fs::path>& runs, const fs::path& report_file, int width) {
  std::vector<report::RunData> data;
  for (const fs::path& run : runs) data.push_back(report::read_run_folder(run));
  const report::Comparison c = report::compare_runs(std::move(data));

  ComparisonSummary out;
  out.table = text_table(c, width);
  out.statements = report::noise_statements(c);
  out.notes = c.notes;
  if (report_file.empty()) return out;

  const fs::path page_folder = report::absolute_path(report_file).parent_path();
  std::vector<std::pair<std::string, std::string>> toc;
  const std::string sections = report::comparison_sections(c, page_folder, toc);
  std::string page = report::page_begin("comparison of " + std::to_string(c.variants.size()) + " variants \u2014 strata", true);
  page += "<header>\n<h1>Comparison</h1>\n<p class=\"sub\">" +
          report::escape_html(std::to_string(c.variants.size()) + " variants \u00b7 " + std::to_string(runs.size()) +
                              " runs \u00b7 ranked by " + (c.metric(c.primary) ? c.metric(c.primary)->label : c.primary)) +
          "</p>\n</header>\n<nav class=\"toc\">";
  toc.emplace_back("runs", "Runs");
  for (std::size_t i = 0; i < toc.size(); ++i)
    page += std::string(i ? " \u00b7 " : "") + "<a href=\"#" + toc[i].first + "\">" + report::escape_html(toc[i].second) + "</a>";
  page += "</nav>\n";
  if (!c.notes.empty()) {
    page += "<div class=\"notes\">\n<strong>Notes on this report</strong>\n<ul>\n";
    for (const std::string& n : c.notes) page += "<li>" + report::escape_html(n) + "</li>\n";
    page += "</ul>\n</div>\n";
  }
  page += sections;
  page += "<h2 id=\"runs\">Runs</h2>\n<table>\n<thead><tr><th>variant</th><th>seed</th><th>run folder</th></tr></thead>\n<tbody>\n";
  for (const report::ComparedVariant& v : c.variants)
    for (std::size_t i = 0; i < v.runs.size(); ++i) {
      const fs::path& folder = c.runs[v.runs[i]].folder;
      const fs::path report = folder / run_folder::kReportFile;
      std::error_code ec;
      std::string where = report::escape_html(report::absolute_path(folder).string());
      if (fs::exists(report, ec))
        where = "<a href=\"" + report::escape_html(report::relative_link(page_folder, report)) + "\">" + where + "</a>";
      page += "<tr><td>" + report::escape_html(v.label) + "</td><td>" +
              (v.seeds[i] < 0 ? std::string("?") : std::to_string(v.seeds[i])) + "</td><td>" + where + "</td></tr>\n";
    }
  page += "</tbody>\n</table>\n<p class=\"foot\">Written by strata compare. Hover a point or a column heading for details.</p>\n";
  page += report::page_end();
  write_text_atomically(report_file, page);
  return out;
}

}  // namespace strata
