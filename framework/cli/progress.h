#pragma once
// Training progress on the terminal: a redrawn status line (step, loss, tokens/s, ETA)
// when stderr is a terminal, and plain periodic lines otherwise (logs, CI, pipes).
#include <chrono>
#include <cstdint>
#include <string>

#include "strata/telemetry.h"
#include "strata/trainer.h"

namespace strata::cli {

// Where a run stands in its sweep, for the progress line.
struct SweepPosition {
  std::size_t index = 0;  // 0-based variant number
  std::size_t count = 0;  // variants in the sweep (0: not a sweep)
  std::int64_t steps_before = 0;  // training steps of the variants before this one
  std::int64_t steps_total = 0;   // of the whole sweep
  std::chrono::steady_clock::time_point start;  // when the sweep began
};

class Progress {
 public:
  Progress(std::int64_t total_steps, bool quiet);
  ~Progress();
  void on_step(std::int64_t step, double loss, double tokens_per_s);
  void on_record(const MetricsRecord& record);
  // The components' declarations: the line then shows their headline scalar series only.
  void set_series(std::vector<MetricSeries> series) { series_ = std::move(series); }
  // Inside a sweep: the bar names the variant and adds the whole sweep's share done and ETA.
  void set_sweep(SweepPosition position) { sweep_ = std::move(position); }
  void finish();

 private:
  void clear_bar();
  std::int64_t total_;
  bool quiet_;
  bool tty_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::vector<MetricSeries> series_;
  SweepPosition sweep_;
};

// "sweep 42% ETA 3:10" after `steps_done` of the sweep's steps (its variants' train.steps).
std::string sweep_status(const SweepPosition& position, std::int64_t steps_done);
// The width of the terminal on `fd` ($COLUMNS, else the terminal's, else `fallback`).
int terminal_columns(int fd, int fallback = 100);

// "1:02:03" / "2:03"
std::string format_duration(double seconds);
// One plain log line for a record: "step 100/500  loss 1.2345  lr 3.00e-03 ...". Of the
// components' metrics ("metric." keys) it shows the headline scalar series of `series`, and
// those and the auxiliary losses ("aux." keys) once per name as the range over the layers
// ("load_cv 0.34-0.77"); metrics.jsonl keeps every value.
std::string format_record(const MetricsRecord& record, std::int64_t total_steps,
                          const std::vector<MetricSeries>& series);

}  // namespace strata::cli
