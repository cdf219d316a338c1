#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace strata::cli {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

namespace {

// "0.34" or "0.34-0.77" (with ".." when the low end is negative).
std::string value_or_range(double lo, double hi) {
  char buf[96];
  if (lo == hi || !std::isfinite(lo) || !std::isfinite(hi))
    std::snprintf(buf, sizeof buf, "%.4g", lo == hi ? lo : (std::isfinite(lo) ? hi : lo));
  else
    std::snprintf(buf, sizeof buf, lo < 0 ? "%.3g..%.3g" : "%.3g-%.3g", lo, hi);
  return buf;
}

}  // namespace

std::string format_record(const MetricsRecord& r, std::int64_t total_steps, const std::vector<MetricSeries>& series) {
  std::string line = "step " + std::to_string(r.step) + "/" + std::to_string(total_steps);
  char buf[160];
  SeriesIndex index(series);
  // Per-layer values (auxiliary losses, the components' headline metrics) go on the line once
  // per name, as the range over the layers; metrics.jsonl has every value.
  struct Group {
    std::string name;
    double lo = INFINITY, hi = -INFINITY;
    bool nan = false;
  };
  std::vector<Group> groups;
  std::vector<std::pair<std::string, std::size_t>> order;  // (own text or "", group index)
  const auto group = [&](const std::string& name, double value) {
    std::size_t g = 0;
    while (g < groups.size() && groups[g].name != name) ++g;
    if (g == groups.size()) {
      groups.push_back({name});
      order.emplace_back("", g);
    }
    if (std::isnan(value)) groups[g].nan = true;
    groups[g].lo = std::min(groups[g].lo, value);
    groups[g].hi = std::max(groups[g].hi, value);
  };
  for (const auto& [key, value] : r.values) {
    if (key.rfind("metric.", 0) == 0) {
      const MetricSeries* s = index.find_record_key(key);
      if (s && s->kind == MetricKind::scalar && s->headline) group(s->name, value);
      continue;
    }
    if (key.rfind("aux.", 0) == 0) {
      group(key.substr(key.rfind('.') + 1), value);
      continue;
    }
    if (key == "lr")
      std::snprintf(buf, sizeof buf, "  lr %.2e", value);
    else if (key == "tokens_per_s")
      std::snprintf(buf, sizeof buf, "  tok/s %.0f", value);
    else
      std::snprintf(buf, sizeof buf, "  %s %.4g", key.c_str(), value);
    order.emplace_back(buf, 0);
  }
  for (const auto& [text, g] : order) {
    if (!text.empty()) {
      line += text;
      continue;
    }
    const Group& gr = groups[g];
    line += "  " + gr.name + " " + (gr.nan ? std::string("nan") : value_or_range(gr.lo, gr.hi));
  }
  return line;
}

Progress::Progress(std::int64_t total_steps, bool quiet)
    : total_(total_steps),
      quiet_(quiet),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { clear_bar(); }

void Progress::clear_bar() {
  if (bar_shown_) {
    std::cerr << "\r\033[K" << std::flush;
    bar_shown_ = false;
  }
}

void Progress::on_step(std::int64_t step, double loss, double tokens_per_s) {
  if (quiet_ || !tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (step != total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = elapsed / double(step) * double(total_ - step);
  const int kWidth = sweep_.count > 0 ? 12 : 24;
  const int filled = static_cast<int>(kWidth * step / std::max<std::int64_t>(total_, 1));
  std::string bar(std::size_t(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  char buf[256];
  std::snprintf(buf, sizeof buf, "[%s] step %lld/%lld  loss %.4f  %.0f tok/s  ETA %s", bar.c_str(),
                static_cast<long long>(step), static_cast<long long>(total_), loss, tokens_per_s,
                format_duration(eta).c_str());
  std::string text = buf;
  if (sweep_.count > 0)  // the sweep's position first: it is what a long sweep's reader looks for
    text = "[" + std::to_string(sweep_.index + 1) + "/" + std::to_string(sweep_.count) + " " +
           sweep_status(sweep_, sweep_.steps_before + step) + "] " + text;
  // One terminal row, or the carriage return cannot redraw it.
  const std::size_t columns = std::size_t(std::max(terminal_columns(STDERR_FILENO) - 1, 20));
  if (text.size() > columns) text.resize(columns);
  std::cerr << "\r\033[K" << text << std::flush;
  bar_shown_ = true;
}

void Progress::on_record(const MetricsRecord& record) {
  if (quiet_) return;
  clear_bar();
  std::cerr << format_record(record, total_, series_) << "\n" << std::flush;
}

void Progress::finish() { clear_bar(); }

std::string sweep_status(const SweepPosition& position, std::int64_t steps_done) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - position.start).count();
  const double share = position.steps_total > 0 ? double(steps_done) / double(position.steps_total) : 0.0;
  const double eta = steps_done > 0 ? elapsed / double(steps_done) * double(position.steps_total - steps_done) : NAN;
  char buf[96];
  std::snprintf(buf, sizeof buf, "sweep %.0f%% ETA %s", 100 * std::clamp(share, 0.0, 1.0), format_duration(eta).c_str());
  return buf;
}

int terminal_columns(int fd, int fallback) {
  if (const char* env = std::getenv("COLUMNS")) {
    const int columns = std::atoi(env);
    if (columns > 0) return columns;
  }
  winsize size{};
  if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return fallback;
}

}  // namespace strata::cli
