#pragma once
// Small SVG chart writers for the HTML reports: a line chart (linear or log y axis) and a
// heatmap with a colour scale. Each returns one self-contained `<svg>` element (no
// scripts, no external references; styling through presentation attributes so the SVG
// renders the same inside the page and when saved on its own).
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace strata::report {

struct Point {
  double x = 0;
  double y = 0;  // non-finite: a gap in the line
};

struct Series {
  std::string label;
  std::vector<Point> points;
  bool markers = false;  // draw a dot at each point (sparse series such as eval results)
  bool dashed = false;
  bool line = true;  // false: the markers alone (e.g. logged values on top of a curve)
  // A shaded band around the line (e.g. +-1 standard deviation over seeds): one lower and
  // one upper value per point, or both empty. Non-finite values interrupt the band.
  std::vector<double> lower = {}, upper = {};
  // The colour (and, past the palette, dashing) of slot `colour`, so that one variant keeps
  // its colour on charts that leave others out; SIZE_MAX: the series' own index.
  std::size_t colour = std::numeric_limits<std::size_t>::max();
  std::size_t colour_slot(std::size_t index) const {
    return colour == std::numeric_limits<std::size_t>::max() ? index : colour;
  }
};

struct LineChartSpec {
  std::string title;  // the SVG's accessible name
  std::string x_label;
  std::string y_label;
  bool log_y = false;  // needs positive values; non-positive points become gaps
  // Fixed x limits (e.g. 0..last step, the same for every chart of a page); NaN = from
  // the data. Points outside are still drawn at the edge.
  double x_min = std::numeric_limits<double>::quiet_NaN();
  double x_max = std::numeric_limits<double>::quiet_NaN();
  // Fixed y limits (e.g. 0..1 for accuracy); NaN = from the data.
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  int width = 720;
  int height = 300;             // without the legend rows, which are added above the plot
  std::size_t max_legend = 10;  // more series than this: the rest are named "+N more"
};

// One line chart. Series without a finite point are left out of the plot but keep their
// legend entry (marked "no data").
std::string line_chart_svg(const LineChartSpec& spec, const std::vector<Series>& series);

struct HeatmapSpec {
  std::string title;
  std::string x_label;                                          // e.g. "step"
  std::string y_label;                                          // e.g. "expert"
  std::string value_label;                                      // e.g. "load fraction"
  std::vector<double> columns;                                  // one x value per column (a logged step)
  std::vector<std::string> row_labels;                          // one per row, drawn top to bottom
  std::vector<std::vector<double>> values;                      // [row][column]; non-finite: drawn as missing
  double reference = std::numeric_limits<double>::quiet_NaN();  // marked on the colour scale
  std::string reference_label;                                  // e.g. "uniform"
  // The top of the colour scale at least this (NaN: from the data); one value for all
  // the heatmaps of a page makes their colours comparable.
  double scale_max = std::numeric_limits<double>::quiet_NaN();
  // The colour scale runs exactly from 0 to scale_max (when no value exceeds it), instead
  // of to the next round tick: e.g. 0..0.5 for shares that cannot exceed 1/2.
  bool exact_scale = false;
  // Categorical columns (experts, say): one label per column, every column drawn (no
  // averaging) and `columns` ignored. The cells are then laid out compactly (at most
  // 40 x 28 px) and the chart is only as wide as they need, up to `width`.
  std::vector<std::string> column_labels;
  // Divide each row by the sum of its finite values, so that it sums to 1 (a row that
  // sums to 0 is drawn as missing). With scale_max = 1 the colour scale runs 0..1.
  bool normalise_rows = false;
  // Print each cell's value in it (2 decimals; blank under 0.005) when the cells are
  // large enough to hold it (at least 26 x 20 px).
  bool annotate = false;
  int width = 720;
};

// One heatmap: rows x columns cells (each a <rect class="cell"> with a tooltip title
// "<y_label> <row>, <x_label> <column>: <value>"), row and column labels, and a vertical
// colour scale (viridis) with ticks.
std::string heatmap_svg(const HeatmapSpec& spec);

struct ScatterPoint {
  std::string label;  // written next to the point
  double x = 0, y = 0;
  // Error bars (e.g. 95% intervals); NaN: none on that axis.
  double x_low = std::numeric_limits<double>::quiet_NaN(), x_high = std::numeric_limits<double>::quiet_NaN();
  double y_low = std::numeric_limits<double>::quiet_NaN(), y_high = std::numeric_limits<double>::quiet_NaN();
};

struct ScatterChartSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 720;
  int height = 360;
  bool log_x = false;  // a log x axis (every x must be positive; points that are not are left out)
};

// One point per item (coloured as the line charts colour series, so that item i matches
// series i), with its error bars, its label beside it and a tooltip.
std::string scatter_chart_svg(const ScatterChartSpec& spec, const std::vector<ScatterPoint>& points);

// Whether a log y axis reads better: every finite value positive and the largest at
// least ten times the smallest (losses falling by a decade or more).
bool spans_a_decade(const std::vector<Series>& series);

// ---- pieces shared with the page writer and the tests -----------------------------------

// "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);
// Ticks for a log axis over [lo, hi] (lo > 0): powers of ten, or 1-2-5 steps within a
// decade when the range is narrow.
std::vector<double> log_ticks(double lo, double hi);
// A tick label: as many decimals as `spacing` needs, so that the labels of one axis line
// up ("0.0100", "0.0105"); exponent form ("2e-4", "1.5e6") when the axis' largest
// magnitude (`magnitude`, default max(|value|, spacing)) is under 1e-3 or 1e6 or more.
std::string format_tick(double value, double spacing, double magnitude = std::numeric_limits<double>::quiet_NaN());
// The viridis colour map at t in [0, 1], as "#rrggbb" (perceptually uniform, colour-blind safe).
std::string viridis(double t);
// The line colours (Okabe-Ito, colour-blind safe), cycled.
const std::string& series_colour(std::size_t index);

}  // namespace strata::report
