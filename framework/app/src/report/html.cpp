#include "report/html.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace strata::report {

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string format_value(double value) {
  if (!std::isfinite(value)) return "n/a";
  char buf[64];
  const double mag = std::fabs(value);
  if (value == std::round(value) && mag < 1e9) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else if (mag != 0 && (mag < 1e-3 || mag >= 1e6)) {
    std::snprintf(buf, sizeof buf, "%.3e", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", value);
  }
  return buf;
}

std::string format_count(double value) {
  if (!std::isfinite(value)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", std::fabs(value));
  std::string digits = buf, out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return value < 0 ? "-" + out : out;
}

namespace {

// One style sheet for every report: system fonts, readable widths, quiet tables. Kept
// free of '<' and '>' (no child selectors) so simple tag checkers read the page cleanly.
constexpr const char* kStyle = R"css(
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d2330;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 780px; margin: 0 auto; padding: 24px 20px 48px; background: #fff; min-height: 100vh;
  box-shadow: 0 0 0 1px #e3e6eb; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.2em; margin: 1.8em 0 0.5em; padding-bottom: 0.2em; border-bottom: 1px solid #e3e6eb; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; }
p.sub { color: #5a6272; margin: 0 0 1em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.85em; }
pre { background: #f6f7f9; padding: 10px 12px; overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 14px 3px 0; text-align: left; border-bottom: 1px solid #eceef2; vertical-align: top; }
th { font-weight: 600; color: #3a4252; }
td.num, th.num { text-align: right; padding-left: 14px; }
div.wide { overflow-x: auto; }
div.wide td { white-space: nowrap; }
figure { margin: 0.4em 0 1.2em; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: #5a6272; font-size: 0.85em; margin-top: 0.2em; }
.notes { background: #fff8e6; border: 1px solid #f0d89a; border-radius: 4px; padding: 6px 12px; font-size: 0.9em; }
.notes ul { margin: 0.2em 0; padding-left: 1.2em; }
details { margin: 0.4em 0; }
summary { cursor: pointer; color: #3a4252; }
a { color: #0b5cad; }
nav.toc { font-size: 0.85em; color: #5a6272; margin: 0 0 1em; }
p.foot { margin-top: 2.5em; color: #8a8f98; font-size: 0.8em; }
main.wide { max-width: 1180px; }
div.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 0 24px; }
td.pm, span.pm { color: #5a6272; font-size: 0.85em; }
td.strong { font-weight: 700; }
span.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
ul.noise li { margin: 0.25em 0; }
)css";

bool looks_numeric(std::string s) {
  // Thousands separators as format_count writes them ("51,200"): each comma followed by
  // exactly three digits.
  for (std::size_t at = s.find(','); at != std::string::npos; at = s.find(',', at)) {
    std::size_t digits = 0;
    while (at + 1 + digits < s.size() && std::isdigit(static_cast<unsigned char>(s[at + 1 + digits]))) ++digits;
    if (at == 0 || digits != 3 || !std::isdigit(static_cast<unsigned char>(s[at - 1]))) return false;
    s.erase(at, 1);
  }
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

std::string page_begin(const std::string& title, bool wide) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + escape_html(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" +
         (wide ? "<main class=\"wide\">\n" : "<main>\n");
  return out;
}

std::string relative_link(const std::filesystem::path& from_folder, const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  const auto absolute = [](const fs::path& p) {
    std::error_code ec;
    const fs::path a = fs::absolute(p, ec);
    return (ec ? p : a).lexically_normal();
  };
  fs::path base = absolute(from_folder);
  if (!base.has_filename()) base = base.parent_path();
  const fs::path to = absolute(target);
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

std::string page_end() { return "</main>\n</body>\n</html>\n"; }

std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out = "<table>\n";
  for (const auto& [key, value] : rows) {
    out += "<tr><th>" + escape_html(key) + "</th><td>" + escape_html(value) + "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string data_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  // A column whose every non-empty cell is a number is right-aligned, header included.
  std::vector<bool> numeric(header.size(), true);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size() && c < numeric.size(); ++c)
      if (!row[c].empty() && !looks_numeric(row[c])) numeric[c] = false;
  const auto cls = [&](std::size_t c) { return c < numeric.size() && numeric[c] ? " class=\"num\"" : ""; };
  std::string out = "<div class=\"wide\">\n<table>\n<thead><tr>";
  for (std::size_t c = 0; c < header.size(); ++c)
    out += std::string("<th") + cls(c) + ">" + escape_html(header[c]) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c)
      out += std::string("<td") + cls(c) + ">" + escape_html(row[c]) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n</div>\n";
}

std::string figure(const std::string& heading, const std::string& svg, const std::string& caption) {
  std::string out = "<h3>" + escape_html(heading) + "</h3>\n<figure>\n" + svg;
  if (!caption.empty()) out += "<figcaption>" + escape_html(caption) + "</figcaption>\n";
  return out + "</figure>\n";
}

}  // namespace strata::report
