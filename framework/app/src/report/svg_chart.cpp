#include "report/svg_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "report/html.h"

namespace strata::report {

namespace {

constexpr double kTickFont = 12;
constexpr double kLabelFont = 13;
// The plot's left edge in every chart of a page, so that stacked charts line up (wider
// tick labels push it further).
constexpr double kMinLeftMargin = 66;
// Past this many columns a heatmap averages neighbouring columns: cells narrower than
// ~3 px show nothing more and only make the page heavy.
constexpr std::size_t kMaxHeatmapColumns = 240;
constexpr const char* kAxisColour = "#8a8f98";
constexpr const char* kGridColour = "#e8eaee";
constexpr const char* kTextColour = "#3a4252";

// Estimated advance of a text in a proportional sans-serif font; used to lay out
// margins and legends (there is no text measuring without a browser).
double text_width(const std::string& text, double font_px) {
  std::size_t glyphs = 0;
  for (unsigned char c : text) glyphs += (c & 0xC0) != 0x80;  // count UTF-8 code points
  return double(glyphs) * font_px * 0.58;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string svg_open(double width, double height, const std::string& title) {
  return "<svg viewBox=\"0 0 " + fmt(width) + " " + fmt(height) + "\" width=\"" + fmt(width) + "\" height=\"" +
         fmt(height) + "\" role=\"img\" aria-label=\"" + escape_html(title) +
         "\" font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif\" "
         "font-size=\"" +
         fmt(kTickFont) + "\">\n<title>" + escape_html(title) + "</title>\n<rect width=\"" + fmt(width) +
         "\" height=\"" + fmt(height) + "\" fill=\"#ffffff\"/>\n";
}

std::string text(double x, double y, const std::string& content, const std::string& anchor,
                 const std::string& extra = {}) {
  return "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"" + anchor + "\" fill=\"" + kTextColour + "\"" +
         extra + ">" + escape_html(content) + "</text>\n";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& colour, double width = 1) {
  return "<line x1=\"" + fmt(x1) + "\" y1=\"" + fmt(y1) + "\" x2=\"" + fmt(x2) + "\" y2=\"" + fmt(y2) + "\" stroke=\"" +
         colour + "\" stroke-width=\"" + fmt(width) + "\"/>\n";
}

std::string y_axis_label(double x, double y, const std::string& label) {
  return "<text transform=\"translate(" + fmt(x) + "," + fmt(y) + ") rotate(-90)\" text-anchor=\"middle\" fill=\"" +
         kTextColour + "\" font-size=\"" + fmt(kLabelFont) + "\">" + escape_html(label) + "</text>\n";
}

// The plot box [x0, x1] x [y0, y1] with its grid lines, ticks and tick labels (each at its
// pixel position), both axes, their labels, and "no data" when `empty`.
struct PlotFrame {
  double x0, x1, y0, y1;
  double height;  // the SVG's, for the x label under the ticks
};
using PixelTicks = std::vector<std::pair<double, std::string>>;  // (pixel, label)

std::string plot_frame(const PlotFrame& f, const PixelTicks& y_ticks, const PixelTicks& x_ticks,
                       const std::string& x_label, const std::string& y_label, bool empty) {
  std::string out;
  for (const auto& [y, label] : y_ticks) {
    out += line(f.x0, y, f.x1, y, kGridColour);
    out += line(f.x0 - 4, y, f.x0, y, kAxisColour);
    out += text(f.x0 - 7, y, label, "end", " dy=\"0.32em\"");
  }
  for (const auto& [x, label] : x_ticks) {
    out += line(x, f.y0, x, f.y1, kGridColour);
    out += line(x, f.y1, x, f.y1 + 4, kAxisColour);
    out += text(x, f.y1 + 16, label, "middle");
  }
  out += line(f.x0, f.y0, f.x0, f.y1, kAxisColour);
  out += line(f.x0, f.y1, f.x1, f.y1, kAxisColour);
  out += text((f.x0 + f.x1) / 2, f.height - 8, x_label, "middle", " font-size=\"" + fmt(kLabelFont) + "\"");
  out += y_axis_label(14, (f.y0 + f.y1) / 2, y_label);
  if (empty) out += text((f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2, "no data", "middle", " font-size=\"13\"");
  return out;
}

// Decimals that print `spacing` exactly (0.25 -> 2, 5 -> 0).
int decimals_for(double spacing) {
  const double s = std::fabs(spacing);
  for (int d = 0; d < 9; ++d) {
    const double scaled = s * std::pow(10.0, d);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) return d;
  }
  return 9;
}

struct Rgb {
  double r, g, b;
};

Rgb hex_to_rgb(const char* hex) {
  unsigned r = 0, g = 0, b = 0;
  std::sscanf(hex + 1, "%2x%2x%2x", &r, &g, &b);
  return {double(r), double(g), double(b)};
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo <= 1e-9 * std::max(std::fabs(lo), std::fabs(hi))) {  // a constant (up to rounding)
    hi = lo;
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / double(std::max(target, 1));
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw * (1 - 1e-9)) {
      step = m * mag;
      break;
    }
  }
  const auto first = static_cast<long long>(std::floor(lo / step + 1e-9));
  const auto last = static_cast<long long>(std::ceil(hi / step - 1e-9));
  std::vector<double> ticks;
  for (long long i = first; i <= last; ++i) ticks.push_back(i == 0 ? 0.0 : double(i) * step);
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!(lo > 0) || !(hi >= lo) || !std::isfinite(hi)) return {};
  const int e0 = static_cast<int>(std::floor(std::log10(lo)));
  const int e1 = static_cast<int>(std::ceil(std::log10(hi)));
  std::vector<double> one_two_five, powers;
  for (int e = e0; e <= e1; ++e) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e);
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      one_two_five.push_back(v);
      if (m == 1.0) powers.push_back(v);
    }
  }
  if (one_two_five.size() >= 3 && one_two_five.size() <= 12) return one_two_five;
  if (one_two_five.size() > 12) {
    if (powers.size() <= 8) return powers;
    std::vector<double> thinned;  // every other power of ten over a very wide range
    for (std::size_t i = 0; i < powers.size(); i += 2) thinned.push_back(powers[i]);
    return thinned;
  }
  // A narrow range (under a decade): evenly spaced values, placed on the log axis.
  std::vector<double> linear;
  for (double v : nice_ticks(lo, hi, 4))
    if (v > 0 && v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) linear.push_back(v);
  return linear.size() >= 2 ? linear : one_two_five;
}

std::string format_tick(double value, double spacing, double magnitude) {
  if (!std::isfinite(value)) return "";
  const double s = std::fabs(spacing) > 0 ? std::fabs(spacing) : std::fabs(value);
  if (value == 0 || std::fabs(value) < s * 1e-9) return "0";
  if (!std::isfinite(magnitude) || magnitude <= 0) magnitude = std::max(std::fabs(value), s);
  char buf[48];
  if (magnitude >= 1e6 || magnitude < 1e-3) {
    const int e = static_cast<int>(std::floor(std::log10(std::fabs(value)) + 1e-9));
    const double mantissa = value / std::pow(10.0, e);
    std::snprintf(buf, sizeof buf, "%.*fe%d", std::min(decimals_for(mantissa), 3), mantissa, e);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.*f", decimals_for(s), value);
  return buf;
}

std::string viridis(double t) {
  static constexpr std::array<const char*, 9> kStops = {"#440154", "#472d7b", "#3b528b", "#2c728e", "#21908c",
                                                        "#27ad81", "#5dc863", "#aadc32", "#fde725"};
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0);
  const double pos = t * double(kStops.size() - 1);
  const std::size_t i = std::min(static_cast<std::size_t>(pos), kStops.size() - 2);
  const double f = pos - double(i);
  const Rgb a = hex_to_rgb(kStops[i]), b = hex_to_rgb(kStops[i + 1]);
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", unsigned(std::lround(a.r + (b.r - a.r) * f)),
                unsigned(std::lround(a.g + (b.g - a.g) * f)), unsigned(std::lround(a.b + (b.b - a.b) * f)));
  return buf;
}

const std::string& series_colour(std::size_t index) {
  // Okabe-Ito, with its yellow (too pale on white) replaced by a mid grey.
  static const std::array<std::string, 8> kColours = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                                      "#e69f00", "#56b4e9", "#000000", "#8c8c8c"};
  return kColours[index % kColours.size()];
}

// ---- line chart ---------------------------------------------------------------------------

bool spans_a_decade(const std::vector<Series>& series) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : series) {
    for (const Point& p : s.points) {
      if (!std::isfinite(p.y)) continue;
      if (p.y <= 0) return false;
      lo = std::min(lo, p.y);
      hi = std::max(hi, p.y);
    }
  }
  return lo <= hi && hi >= 10 * lo;
}

std::string line_chart_svg(const LineChartSpec& spec, const std::vector<Series>& series) {
  const auto usable = [&](double y) { return std::isfinite(y) && (!spec.log_y || y > 0); };
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  std::vector<bool> has_data(series.size(), false);
  for (std::size_t i = 0; i < series.size(); ++i) {
    for (std::size_t j = 0; j < series[i].points.size(); ++j) {
      const Point& p = series[i].points[j];
      if (!std::isfinite(p.x) || !usable(p.y)) continue;
      has_data[i] = true;
      xmin = std::min(xmin, p.x);
      xmax = std::max(xmax, p.x);
      ymin = std::min(ymin, p.y);
      ymax = std::max(ymax, p.y);
      for (const std::vector<double>* band : {&series[i].lower, &series[i].upper})
        if (j < band->size() && usable((*band)[j])) {
          ymin = std::min(ymin, (*band)[j]);
          ymax = std::max(ymax, (*band)[j]);
        }
    }
  }
  const bool empty = !(xmin <= xmax);
  if (empty) {
    xmin = 0;
    xmax = 1;
    ymin = spec.log_y ? 0.1 : 0;
    ymax = 1;
  }
  if (std::isfinite(spec.y_min) && (!spec.log_y || spec.y_min > 0)) ymin = spec.y_min;
  if (std::isfinite(spec.y_max)) ymax = spec.y_max;
  if (ymax < ymin) std::swap(ymin, ymax);

  if (std::isfinite(spec.x_min)) xmin = spec.x_min;
  if (std::isfinite(spec.x_max)) xmax = spec.x_max;
  if (xmax < xmin) std::swap(xmin, xmax);
  // x: training steps read best from 0 when the first logged step is close to it.
  if (xmin > 0 && xmin <= 0.25 * xmax) xmin = 0;
  const std::vector<double> x_ticks = nice_ticks(xmin, xmax, 7);
  const double x_lo = x_ticks.front(), x_hi = x_ticks.back();
  const double x_spacing = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;

  std::vector<double> y_ticks;
  double y_lo = 0, y_hi = 1;  // in axis units (log10 of the value on a log axis)
  if (spec.log_y) {
    double L = std::log10(ymin), H = std::log10(ymax);
    if (H - L < 1e-9) {
      L -= 0.5;
      H += 0.5;
    }
    const double pad = (H - L) * 0.05;
    y_lo = L - pad;
    y_hi = H + pad;
    y_ticks = log_ticks(std::pow(10.0, y_lo), std::pow(10.0, y_hi));
  } else {
    const bool fixed = std::isfinite(spec.y_min) && std::isfinite(spec.y_max);
    y_ticks = nice_ticks(ymin, ymax, 5);
    y_lo = fixed ? ymin : y_ticks.front();
    y_hi = fixed ? ymax : y_ticks.back();
    if (y_hi == y_lo) y_hi = y_lo + 1;
    std::erase_if(y_ticks, [&](double v) { return v < y_lo - 1e-12 || v > y_hi + 1e-12; });
  }
  const auto y_axis_value = [&](double v) { return spec.log_y ? std::log10(v) : v; };

  const auto largest = [](const std::vector<double>& ticks) {
    double m = 0;
    for (double t : ticks) m = std::max(m, std::fabs(t));
    return m;
  };
  const double y_magnitude = largest(y_ticks), x_magnitude = largest(x_ticks);
  std::vector<std::string> y_labels;
  double y_label_width = 0;
  for (std::size_t i = 0; i < y_ticks.size(); ++i) {
    const double spacing = spec.log_y ? y_ticks[i] : (y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : y_ticks[i]);
    y_labels.push_back(format_tick(y_ticks[i], spacing, y_magnitude));
    y_label_width = std::max(y_label_width, text_width(y_labels.back(), kTickFont));
  }

  // Legend: entries flow left to right above the plot, wrapping into rows.
  const double width = spec.width;
  const double left = std::max(kMinLeftMargin, 24 + y_label_width + 10), right = 18;
  struct Entry {
    std::size_t index;  // series index, or series.size() for the "+N more" note
    std::string label;
    double x, y;
  };
  std::vector<Entry> entries;
  const std::size_t shown = std::min(series.size(), std::max<std::size_t>(spec.max_legend, 1));
  for (std::size_t i = 0; i < shown; ++i)
    entries.push_back({i, series[i].label + (has_data[i] ? "" : " (no data)"), 0, 0});
  if (series.size() > shown)
    entries.push_back({series.size(), "+" + std::to_string(series.size() - shown) + " more (not in legend)", 0, 0});
  // One row when the entries fit; otherwise a grid of equal columns, which reads better
  // than a ragged flow.
  double total_w = 0, widest = 0;
  for (const Entry& e : entries) {
    const double w = (e.index < series.size() ? 26 : 0) + text_width(e.label, kTickFont) + 18;
    total_w += w;
    widest = std::max(widest, w);
  }
  const double available = width - right - left;
  const std::size_t grid_columns =
      total_w <= available ? entries.size() : std::max<std::size_t>(1, std::size_t(available / widest));
  double cursor = left, row = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    if (i > 0 && i % grid_columns == 0) {
      cursor = left;
      row += 1;
    }
    e.x = cursor;
    e.y = row;
    cursor += total_w <= available ? (e.index < series.size() ? 26 : 0) + text_width(e.label, kTickFont) + 18 : widest;
  }
  const double legend_rows = entries.empty() ? 0 : row + 1;
  const double legend_h = legend_rows * 17;
  const double top = 12 + legend_h + (legend_rows > 0 ? 6 : 0);
  const double height = spec.height + legend_h;
  const double bottom = 44;
  const double px0 = left, px1 = width - right, py0 = top, py1 = height - bottom;

  const auto sx = [&](double x) { return px0 + (std::clamp(x, x_lo, x_hi) - x_lo) / (x_hi - x_lo) * (px1 - px0); };
  const auto sy = [&](double v) {
    const double a = std::clamp(y_axis_value(v), y_lo, y_hi);
    return py1 - (a - y_lo) / (y_hi - y_lo) * (py1 - py0);
  };

  std::string out = svg_open(width, height, spec.title);
  PixelTicks y_at, x_at;
  for (std::size_t i = 0; i < y_ticks.size(); ++i) y_at.emplace_back(sy(y_ticks[i]), y_labels[i]);
  for (double t : x_ticks) x_at.emplace_back(sx(t), format_tick(t, x_spacing, x_magnitude));
  out += plot_frame({px0, px1, py0, py1, height}, y_at, x_at, spec.x_label,
                    spec.y_label + (spec.log_y ? " (log scale)" : ""), empty);

  // bands first, under every line: each finite stretch a closed polygon
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    if (s.lower.size() != s.points.size() || s.upper.size() != s.points.size()) continue;
    std::size_t j = 0;
    while (j < s.points.size()) {
      const auto inside = [&](std::size_t k) {
        return std::isfinite(s.points[k].x) && usable(s.lower[k]) && usable(s.upper[k]);
      };
      if (!inside(j)) {
        ++j;
        continue;
      }
      std::size_t end = j;
      while (end < s.points.size() && inside(end)) ++end;
      std::string d;
      const auto vertex = [&](char command, std::size_t k, double y) {
        d += command;
        d += fmt(sx(s.points[k].x));
        d += ',';
        d += fmt(sy(y));
      };
      for (std::size_t k = j; k < end; ++k) vertex(k == j ? 'M' : 'L', k, s.upper[k]);
      for (std::size_t k = end; k-- > j;) vertex('L', k, s.lower[k]);
      out += "<path class=\"band\" d=\"" + d + "Z\" fill=\"" + series_colour(s.colour_slot(i)) + "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
      j = end;
    }
  }

  // series
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const std::string& colour = series_colour(s.colour_slot(i));
    const bool dashed = s.dashed || s.colour_slot(i) >= 8;  // the palette repeats: tell the repeats apart
    std::string d;
    std::vector<Point> dots;
    std::size_t run = 0;
    Point last{};
    for (const Point& p : s.points) {
      if (!std::isfinite(p.x) || !usable(p.y)) {
        if (run == 1) dots.push_back(last);  // an isolated point has no segment to show it
        run = 0;
        continue;
      }
      d += (run == 0 ? "M" : "L") + fmt(sx(p.x)) + "," + fmt(sy(p.y));
      last = p;
      ++run;
    }
    if (run == 1) dots.push_back(last);
    if (!d.empty() && s.line) {
      out += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + colour +
             "\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\"" +
             (dashed ? " stroke-dasharray=\"6 3\"" : "") + "/>\n";
    }
    if (s.markers || !s.line) {
      dots.clear();
      for (const Point& p : s.points)
        if (std::isfinite(p.x) && usable(p.y)) dots.push_back(p);
    }
    for (const Point& p : dots) {
      out += "<circle cx=\"" + fmt(sx(p.x)) + "\" cy=\"" + fmt(sy(p.y)) + "\" r=\"3\" fill=\"" + colour +
             "\" stroke=\"#ffffff\" stroke-width=\"1\"><title>" +
             escape_html(s.label + ": " + format_tick(p.x, 1) + " \u2192 " + format_value(p.y)) + "</title></circle>\n";
    }
  }

  // legend
  for (const Entry& e : entries) {
    const double y = 12 + e.y * 17 + 5;
    if (e.index < series.size()) {
      const std::size_t slot = series[e.index].colour_slot(e.index);
      const std::string& colour = series_colour(slot);
      const bool dashed = series[e.index].dashed || slot >= 8;
      if (series[e.index].line)
        out += "<line x1=\"" + fmt(e.x) + "\" y1=\"" + fmt(y) + "\" x2=\"" + fmt(e.x + 20) + "\" y2=\"" + fmt(y) +
               "\" stroke=\"" + colour + "\" stroke-width=\"2.2\"" + (dashed ? " stroke-dasharray=\"5 2\"" : "") +
               "/>\n";
      if (series[e.index].markers || !series[e.index].line)
        out += "<circle cx=\"" + fmt(e.x + 10) + "\" cy=\"" + fmt(y) + "\" r=\"3\" fill=\"" + colour + "\"/>\n";
      out += text(e.x + 26, y, e.label, "start", " dy=\"0.32em\"");
    } else {
      out += text(e.x, y, e.label, "start", " dy=\"0.32em\" font-style=\"italic\"");
    }
  }
  return out + "</svg>\n";
}

// ---- scatter chart ------------------------------------------------------------------------

std::string scatter_chart_svg(const ScatterChartSpec& spec, const std::vector<ScatterPoint>& points) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  const auto extend = [](double v, double& lo, double& hi) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  };
  const auto plotted = [&](const ScatterPoint& p) {
    return std::isfinite(p.x) && std::isfinite(p.y) && (!spec.log_x || p.x > 0);
  };
  for (const ScatterPoint& p : points) {
    if (!plotted(p)) continue;
    for (double v : {p.x, p.x_low, p.x_high})
      if (!spec.log_x || v > 0) extend(v, xmin, xmax);
    for (double v : {p.y, p.y_low, p.y_high}) extend(v, ymin, ymax);
  }
  const bool empty = !(xmin <= xmax);
  if (empty) xmin = ymin = spec.log_x ? 1 : 0, xmax = ymax = spec.log_x ? 10 : 1;
  // A margin inside the axes, so that points and labels do not sit on them (on a log axis:
  // a factor, and ticks at 1-2-5 values).
  const double xpad = (xmax - xmin) * 0.06, ypad = (ymax - ymin) * 0.08;
  std::vector<double> x_ticks = spec.log_x ? log_ticks(xmin / 1.5, xmax * 1.5) : nice_ticks(xmin - xpad, xmax + xpad, 6);
  if (x_ticks.size() < 2) x_ticks = {xmin / 1.5, xmax * 1.5};
  const std::vector<double> y_ticks = nice_ticks(ymin - ypad, ymax + ypad, 5);
  const double x_lo = spec.log_x ? std::min(x_ticks.front(), xmin / 1.5) : x_ticks.front();
  const double x_hi = spec.log_x ? std::max(x_ticks.back(), xmax * 1.5) : x_ticks.back();
  const double y_lo = y_ticks.front(), y_hi = y_ticks.back();
  const double x_spacing = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  const double y_spacing = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;
  double x_magnitude = 0, y_magnitude = 0, y_label_width = 0;
  for (double t : x_ticks) x_magnitude = std::max(x_magnitude, std::fabs(t));
  for (double t : y_ticks) y_magnitude = std::max(y_magnitude, std::fabs(t));
  for (double t : y_ticks) y_label_width = std::max(y_label_width, text_width(format_tick(t, y_spacing, y_magnitude), kTickFont));

  const double width = spec.width, height = spec.height;
  const double px0 = std::max(kMinLeftMargin, 24 + y_label_width + 10), px1 = width - 18, py0 = 14, py1 = height - 44;
  const auto sx = [&](double x) {
    if (spec.log_x)
      return px0 + (std::log10(std::clamp(x, x_lo, x_hi)) - std::log10(x_lo)) / (std::log10(x_hi) - std::log10(x_lo)) *
                       (px1 - px0);
    return px0 + (std::clamp(x, x_lo, x_hi) - x_lo) / (x_hi - x_lo) * (px1 - px0);
  };
  const auto sy = [&](double y) { return py1 - (std::clamp(y, y_lo, y_hi) - y_lo) / (y_hi - y_lo) * (py1 - py0); };

  std::string out = svg_open(width, height, spec.title);
  PixelTicks y_at, x_at;
  for (double t : y_ticks) y_at.emplace_back(sy(t), format_tick(t, y_spacing, y_magnitude));
  for (double t : x_ticks) x_at.emplace_back(sx(t), format_tick(t, spec.log_x ? t : x_spacing, x_magnitude));
  out += plot_frame({px0, px1, py0, py1, height}, y_at, x_at, spec.x_label + (spec.log_x ? " (log scale)" : ""),
                    spec.y_label, empty);

  for (std::size_t i = 0; i < points.size(); ++i) {
    const ScatterPoint& p = points[i];
    if (!plotted(p)) continue;
    const std::string& colour = series_colour(i);
    const double x = sx(p.x), y = sy(p.y);
    if (std::isfinite(p.x_low) && std::isfinite(p.x_high)) {
      out += line(sx(p.x_low), y, sx(p.x_high), y, colour, 1.2);
      out += line(sx(p.x_low), y - 4, sx(p.x_low), y + 4, colour, 1.2);
      out += line(sx(p.x_high), y - 4, sx(p.x_high), y + 4, colour, 1.2);
    }
    if (std::isfinite(p.y_low) && std::isfinite(p.y_high)) {
      out += line(x, sy(p.y_low), x, sy(p.y_high), colour, 1.2);
      out += line(x - 4, sy(p.y_low), x + 4, sy(p.y_low), colour, 1.2);
      out += line(x - 4, sy(p.y_high), x + 4, sy(p.y_high), colour, 1.2);
    }
    std::string tip = p.label + ": " + spec.x_label + " " + format_value(p.x);
    if (std::isfinite(p.x_low)) tip += " [" + format_value(p.x_low) + ", " + format_value(p.x_high) + "]";
    tip += ", " + spec.y_label + " " + format_value(p.y);
    if (std::isfinite(p.y_low)) tip += " [" + format_value(p.y_low) + ", " + format_value(p.y_high) + "]";
    // Past the palette's 8 colours the points are hollow, as the line charts dash the repeats.
    const bool hollow = i >= 8;
    out += "<circle class=\"point\" cx=\"" + fmt(x) + "\" cy=\"" + fmt(y) + "\" r=\"4.5\" fill=\"" +
           (hollow ? std::string("#ffffff") : colour) + "\" stroke=\"" + (hollow ? colour : std::string("#ffffff")) +
           "\" stroke-width=\"" + (hollow ? "2" : "1") + "\"><title>" + escape_html(tip) + "</title></circle>\n";
  }
  // Labels last, each at the first place beside its point that stays in the plot and clear
  // of the labels already placed; one with no such place is left to the point's tooltip.
  struct Box {
    double x0, y0, x1, y1;
  };
  std::vector<Box> placed;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const ScatterPoint& p = points[i];
    if (!plotted(p) || p.label.empty()) continue;
    const double x = sx(p.x), y = sy(p.y), w = text_width(p.label, 11);
    struct Place {
      double x, y;
      const char* anchor;
    };
    const Place places[] = {{x + 8, y - 5, "start"}, {x + 8, y + 13, "start"}, {x - 8, y - 5, "end"},
                            {x - 8, y + 13, "end"},  {x, y - 10, "middle"},    {x, y + 19, "middle"}};
    for (const Place& at : places) {
      const double left = at.anchor[0] == 's' ? at.x : at.anchor[0] == 'e' ? at.x - w : at.x - w / 2;
      const Box box{left, at.y - 10, left + w, at.y + 2};
      if (box.x0 < px0 || box.x1 > px1 || box.y0 < py0 || box.y1 > py1) continue;
      if (std::any_of(placed.begin(), placed.end(), [&](const Box& b) {
            return box.x0 < b.x1 && b.x0 < box.x1 && box.y0 < b.y1 && b.y0 < box.y1;
          }))
        continue;
      placed.push_back(box);
      out += text(at.x, at.y, p.label, at.anchor,
                  " font-size=\"11\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"");
      break;
    }
  }
  return out + "</svg>\n";
}

// ---- heatmap ------------------------------------------------------------------------------

std::string heatmap_svg(const HeatmapSpec& spec) {
  const std::size_t rows = spec.row_labels.size();
  const bool categorical = !spec.column_labels.empty();
  const auto input = [&](std::size_t r, std::size_t c) {
    return r < spec.values.size() && c < spec.values[r].size() ? spec.values[r][c] : NAN;
  };
  std::vector<std::string> column_labels;
  std::vector<std::vector<double>> values(rows);
  std::size_t bin = 1;
  if (categorical) {
    column_labels = spec.column_labels;
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < column_labels.size(); ++c) values[r].push_back(input(r, c));
  } else {
    // Average neighbouring columns past kMaxHeatmapColumns (each bin is labelled by its last step).
    const std::size_t n_in = spec.columns.size();
    bin = n_in > kMaxHeatmapColumns ? (n_in + kMaxHeatmapColumns - 1) / kMaxHeatmapColumns : 1;
    for (std::size_t c0 = 0; c0 < n_in; c0 += bin) {
      const std::size_t c1 = std::min(n_in, c0 + bin);
      column_labels.push_back(format_tick(spec.columns[c1 - 1], 1));
      for (std::size_t r = 0; r < rows; ++r) {
        double sum = 0;
        int n = 0;
        for (std::size_t c = c0; c < c1; ++c) {
          const double v = input(r, c);
          if (std::isfinite(v)) {
            sum += v;
            ++n;
          }
        }
        values[r].push_back(n > 0 ? sum / n : NAN);
      }
    }
  }
  if (spec.normalise_rows) {
    for (auto& row : values) {
      double sum = 0;
      for (double v : row)
        if (std::isfinite(v)) sum += v;
      for (double& v : row) v = sum != 0 && std::isfinite(v) ? v / sum : NAN;
    }
  }
  const std::size_t cols = column_labels.size();

  double vmin = 0, vmax = std::isfinite(spec.scale_max) ? spec.scale_max : 0;
  for (const auto& row : values)
    for (double v : row)
      if (std::isfinite(v)) {
        vmin = std::min(vmin, v);
        vmax = std::max(vmax, v);
      }
  if (vmax <= vmin) vmax = vmin + 1;
  const bool exact =
      spec.exact_scale && std::isfinite(spec.scale_max) && spec.scale_max > vmin && vmax <= spec.scale_max * (1 + 1e-6);
  std::vector<double> scale_ticks = nice_ticks(vmin, vmax, exact ? 5 : 4);
  const double c_lo = scale_ticks.front(), c_hi = exact ? spec.scale_max : scale_ticks.back();
  if (exact) std::erase_if(scale_ticks, [&](double t) { return t > c_hi * (1 + 1e-9); });
  const double scale_spacing = scale_ticks.size() > 1 ? scale_ticks[1] - scale_ticks[0] : 1;
  const auto colour_of = [&](double v) { return viridis((v - c_lo) / (c_hi - c_lo)); };

  double row_label_width = 0;
  for (const std::string& label : spec.row_labels)
    row_label_width = std::max(row_label_width, text_width(label, kTickFont));
  const double left = std::max(kMinLeftMargin, 24 + row_label_width + 10), right = 100, top = 12, bottom = 44;
  // Rows 3 to 28 px high (categorical maps: 6 to 28, they have fewer rows to show), and at
  // least 120 px in all so that the colour scale beside them has room for its ticks.
  double cell_h = rows > 0 ? (categorical ? std::clamp(std::floor(420.0 / double(rows)), 6.0, 28.0)
                                          : std::clamp(std::floor(240.0 / double(rows)), 3.0, 28.0))
                           : 28;
  if (rows > 0 && cell_h * double(rows) < 120) cell_h = 120.0 / double(rows);
  const double plot_h = rows > 0 ? cell_h * double(rows) : 120;
  const double bar_h = plot_h;
  const double height = top + plot_h + bottom;
  double cell_w = cols > 0 ? (double(spec.width) - left - right) / double(cols) : double(spec.width) - left - right;
  // A categorical map is only as wide as its cells (whole pixels, at most 40 each).
  if (categorical && cols > 0 && cell_w >= 1) cell_w = std::min(std::floor(cell_w), 40.0);
  const double width = categorical && cols > 0 ? left + cell_w * double(cols) + right : double(spec.width);
  const double px0 = left, px1 = width - right, py0 = top, py1 = top + plot_h;

  std::string out = svg_open(width, height, spec.title);
  if (rows == 0 || cols == 0) {
    out += text((px0 + px1) / 2, (py0 + py1) / 2, "no data", "middle", " font-size=\"13\"");
    return out + "</svg>\n";
  }
  out += "<g shape-rendering=\"crispEdges\">\n";
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      const double v = values[r][c];
      const std::string row_name = spec.y_label.empty() ? spec.row_labels[r] : spec.y_label + " " + spec.row_labels[r];
      out += "<rect class=\"cell\" x=\"" + fmt(px0 + double(c) * cell_w) + "\" y=\"" + fmt(py0 + double(r) * cell_h) +
             "\" width=\"" + fmt(cell_w + 0.4) + "\" height=\"" + fmt(cell_h + 0.4) + "\" fill=\"" +
             (std::isfinite(v) ? colour_of(v) : std::string("#d9d9d9")) + "\"><title>" +
             escape_html(row_name + ", " + spec.x_label + " " + column_labels[c] + ": " +
                         (std::isfinite(v) ? format_value(v) : std::string("no data"))) +
             "</title></rect>\n";
    }
  }
  out += "</g>\n";
  if (spec.annotate && cell_w >= 26 && cell_h >= 20) {
    // The values, light on the dark end of the scale and dark on the light end; the
    // text lets the pointer through to the cell under it (whose title is the tooltip).
    out += "<g pointer-events=\"none\" font-size=\"10\" text-anchor=\"middle\">\n";
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) {
        const double v = values[r][c];
        if (!std::isfinite(v) || std::fabs(v) < 0.005) continue;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f", v);
        const bool light = (v - c_lo) / (c_hi - c_lo) < 0.6;
        out += "<text x=\"" + fmt(px0 + (double(c) + 0.5) * cell_w) + "\" y=\"" +
               fmt(py0 + (double(r) + 0.5) * cell_h) + "\" dy=\"0.35em\" fill=\"" + (light ? "#ffffff" : "#1d2330") +
               "\">" + buf + "</text>\n";
      }
    }
    out += "</g>\n";
  }
  out += "<rect x=\"" + fmt(px0) + "\" y=\"" + fmt(py0) + "\" width=\"" + fmt(px1 - px0) + "\" height=\"" +
         fmt(plot_h) + "\" fill=\"none\" stroke=\"" + kAxisColour + "\"/>\n";

  // Row labels, thinned so that they stay ~12 px apart.
  const std::size_t row_stride = static_cast<std::size_t>(std::ceil(12.0 / cell_h));
  for (std::size_t r = 0; r < rows; r += row_stride)
    out += text(px0 - 6, py0 + (double(r) + 0.5) * cell_h, spec.row_labels[r], "end", " dy=\"0.32em\"");
  // Column labels every 1, 2, 5, 10, ... columns, whichever leaves room for the widest label.
  double col_label_width = 0;
  for (const std::string& label : column_labels)
    col_label_width = std::max(col_label_width, text_width(label, kTickFont));
  std::size_t col_stride = 1;
  for (std::size_t k : {1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000}) {
    col_stride = k;
    if (double(k) * cell_w >= col_label_width + 10) break;
  }
  // (Categorical columns from the first, 0, k, 2k, ...; steps at the end of each stride.)
  for (std::size_t c = categorical ? 0 : col_stride - 1; c < cols; c += col_stride) {
    const double x = px0 + (double(c) + 0.5) * cell_w;
    out += line(x, py1, x, py1 + 4, kAxisColour);
    out += text(x, py1 + 16, column_labels[c], "middle");
  }
  out += text((px0 + px1) / 2, height - 8,
              spec.x_label + (bin > 1 ? " (each column averages " + std::to_string(bin) + " logged steps)" : ""),
              "middle", " font-size=\"" + fmt(kLabelFont) + "\"");
  out += y_axis_label(14, (py0 + py1) / 2, spec.y_label);

  // Colour scale: a stack of thin bands (no gradient element, so no ids that could clash
  // between charts on one page).
  const double bar_x = px1 + 18, bar_w = 12;
  constexpr int kBands = 48;
  out += "<g shape-rendering=\"crispEdges\">\n";
  for (int i = 0; i < kBands; ++i) {
    const double t0 = double(i) / kBands;
    const double y = top + bar_h * (1 - t0 - 1.0 / kBands);
    out += "<rect x=\"" + fmt(bar_x) + "\" y=\"" + fmt(y) + "\" width=\"" + fmt(bar_w) + "\" height=\"" +
           fmt(bar_h / kBands + 0.5) + "\" fill=\"" + viridis(t0 + 0.5 / kBands) + "\"/>\n";
  }
  out += "</g>\n";
  out += "<rect x=\"" + fmt(bar_x) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(bar_w) + "\" height=\"" + fmt(bar_h) +
         "\" fill=\"none\" stroke=\"" + kAxisColour + "\"/>\n";
  for (double t : scale_ticks) {
    const double y = top + bar_h * (1 - (t - c_lo) / (c_hi - c_lo));
    out += line(bar_x + bar_w, y, bar_x + bar_w + 4, y, kAxisColour);
    out += text(bar_x + bar_w + 7, y, format_tick(t, scale_spacing, std::max(std::fabs(c_lo), std::fabs(c_hi))),
                "start", " dy=\"0.32em\"");
  }
  if (std::isfinite(spec.reference) && spec.reference >= c_lo && spec.reference <= c_hi) {
    const double y = top + bar_h * (1 - (spec.reference - c_lo) / (c_hi - c_lo));
    out += "<path d=\"M" + fmt(bar_x - 8) + "," + fmt(y - 4) + "L" + fmt(bar_x - 1) + "," + fmt(y) + "L" +
           fmt(bar_x - 8) + "," + fmt(y + 4) + "Z\" fill=\"#1d2330\"><title>" +
           escape_html(spec.reference_label + " = " + format_value(spec.reference)) + "</title></path>\n";
    out += line(bar_x, y, bar_x + bar_w, y, "#ffffff", 1.5);
  }
  out += y_axis_label(width - 10, top + bar_h / 2, spec.value_label);
  return out + "</svg>\n";
}

}  // namespace strata::report
