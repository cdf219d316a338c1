#include "cli/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
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

// Whether a record key goes on the console line: the trainer's own values and auxiliary
// losses do; of the components' metrics, the headline scalars (the rest is in metrics.jsonl).
static bool shown(const std::string& key, SeriesIndex& series) {
  if (key.rfind("metric.", 0) != 0) return true;
  const MetricSeries* s = series.find_record_key(key);
  return s && s->kind == MetricKind::scalar && s->headline;
}

std::string format_record(const MetricsRecord& r, std::int64_t total_steps, const std::vector<MetricSeries>& series) {
  std::string line = "step " + std::to_string(r.step) + "/" + std::to_string(total_steps);
  char buf[160];
  SeriesIndex index(series);
  for (const auto& [name, value] : r.values) {
    if (!shown(name, index)) continue;
    if (name == "lr")
      std::snprintf(buf, sizeof buf, "  lr %.2e", value);
    else if (name == "tokens_per_s")
      std::snprintf(buf, sizeof buf, "  tok/s %.0f", value);
    else
      std::snprintf(buf, sizeof buf, "  %s %.4g", name.c_str(), value);
    line += buf;
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
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * step / std::max<std::int64_t>(total_, 1));
  std::string bar(std::size_t(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  char buf[256];
  std::snprintf(buf, sizeof buf, "\r\033[K[%s] step %lld/%lld  loss %.4f  %.0f tok/s  ETA %s", bar.c_str(),
                static_cast<long long>(step), static_cast<long long>(total_), loss, tokens_per_s,
                format_duration(eta).c_str());
  std::cerr << buf << std::flush;
  bar_shown_ = true;
}

void Progress::on_record(const MetricsRecord& record) {
  if (quiet_) return;
  clear_bar();
  std::cerr << format_record(record, total_, series_) << "\n" << std::flush;
}

void Progress::finish() { clear_bar(); }

}  // namespace strata::cli
