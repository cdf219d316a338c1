#pragma once
// HTML text helpers for the reports: escaping, number formatting, and the page frame
// (head with the inline style sheet, body wrapper). Nothing here reaches the network.
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::report {

// Text or attribute value with &, <, >, " and ' escaped (safe in both places).
std::string escape_html(std::string_view text);

// A metric value for a table cell: up to 4 significant digits, exponent form for tiny or
// huge magnitudes, integers without a decimal point, "n/a" for non-finite values.
std::string format_value(double value);
// An integer with thousands separators: "1,234,567".
std::string format_count(double value);

// The start of a page: doctype, head (title, charset, viewport, inline CSS), <body><main>.
// A wide page (comparisons: tables of many metrics, charts two abreast) is 1180 px at most
// instead of 780.
std::string page_begin(const std::string& title, bool wide = false);
// Closes what page_begin opened.
std::string page_end();

// A two-column table of (name, value) rows; both are escaped.
std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& rows);
// A table with a header row; every cell is escaped. Columns of numbers are right-aligned.
std::string data_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// A figure: heading, the chart's SVG, and an optional caption (escaped).
std::string figure(const std::string& heading, const std::string& svg, const std::string& caption = {});

// A relative URL from `from_folder` to `target` (percent-encoded), so that a folder of
// reports can be moved or archived whole.
std::string relative_link(const std::filesystem::path& from_folder, const std::filesystem::path& target);

}  // namespace strata::report
