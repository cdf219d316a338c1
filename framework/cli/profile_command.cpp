// strata profile: how a model's cost grows with the context length. For each variant of
// the file's sweep (or the file itself) and each sequence length T: the time and peak
// tensor memory of one training step (forward + backward of the next-token loss on random
// tokens) and of decoding (time per token after a T-token prompt, and the cache it holds);
// then the log-log slope of each against T and the lengths where one variant becomes
// cheaper than another. A length is skipped (with the variant's longer ones) when its
// memory or step time, extrapolated from the shorter lengths, would pass --memory-limit-gib
// or --time-limit-s.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "strata/run_folder.h"
#include "cli/token_input.h"
#include "strata/allocator.h"
#include "strata/atomic_file.h"
#include "strata/autograd.h"
#include "strata/ops.h"
#include "strata/runtime.h"
#include "strata/scaling.h"
#include "strata/sweep.h"

namespace strata::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

struct Point {
  std::int64_t T = 0;
  double train_ms = 0, decode_ms = 0;  // decode_ms: per token; 0 when the model cannot decode
  double train_peak_mib = 0, cache_kib = 0;
};

struct Series {
  std::string name;
  std::vector<Point> points;
  std::string skipped;  // why the longer lengths were not measured
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// The lengths and one cost of a series, for the scaling fits.
std::vector<double> lengths_of(const Series& s) {
  std::vector<double> out;
  for (const Point& p : s.points) out.push_back(double(p.T));
  return out;
}

std::vector<double> costs_of(const Series& s, double Point::*field) {
  std::vector<double> out;
  for (const Point& p : s.points) out.push_back(p.*field);
  return out;
}

double slope_of(const Series& s, double Point::*field) { return loglog_slope(lengths_of(s), costs_of(s, field)); }

Point measure(Model& model, std::int64_t T, std::int64_t batch, int repeats, std::int64_t decode_tokens) {
  Point p;
  p.T = T;
  Generator gen(1);
  const std::int64_t V = model.dims().vocab_size;
  const Tensor ids = Tensor::randint({batch, T + 1}, 0, V, gen);
  const Tensor inputs = ids.slice(1, 0, T).contiguous(), targets = ids.slice(1, 1, T + 1).contiguous();
  Allocator& memory = allocator_for(Device::cpu());
  std::vector<double> times;
  for (int r = 0; r <= repeats; ++r) {  // the first run warms the caches and is not counted
    model.zero_grad();
    memory.reset_peak();
    const auto start = Clock::now();
    StepContext ctx(true, &gen);
    const Tensor loss = cross_entropy(model.forward(inputs, ctx), targets);
    loss.backward();
    if (r > 0) times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    p.train_peak_mib = double(memory.stats().peak_allocated_bytes) / double(1 << 20);
  }
  model.zero_grad();
  p.train_ms = median(times);
  try {
    autograd::NoGradGuard no_grad;
    model.train(false);
    DecodeState state = model.make_decode_state(batch);
    StepContext ctx(false);
    model.forward_step(inputs, state, ctx);
    const auto start = Clock::now();
    for (std::int64_t i = 0; i < decode_tokens; ++i) model.forward_step(targets.slice(1, i % T, i % T + 1), state, ctx);
    p.decode_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / double(decode_tokens);
    p.cache_kib = double(state.size_bytes()) / 1024.0;
    model.train(true);
  } catch (const NotImplementedError&) {
    model.train(true);
  }
  return p;
}

std::string fmt(double v, int digits = 2) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// Where `a` becomes no dearer than `b` in `field`, over the lengths both measured.
Crossover crossover(const Series& a, const Series& b, double Point::*field) {
  std::map<std::int64_t, std::pair<double, double>> both;
  for (const Point& p : a.points) both[p.T].first = p.*field;
  for (const Point& p : b.points) both[p.T].second = p.*field;
  std::vector<double> lengths, x, y;
  for (const auto& [T, costs] : both) {
    lengths.push_back(double(T));
    x.push_back(costs.first);
    y.push_back(costs.second);
  }
  return estimate_crossover(lengths, x, y);
}

std::string describe(const Crossover& c) {
  switch (c.kind) {
    case Crossover::Kind::none: return "-";
    case Crossover::Kind::measured: return "from T ~ " + std::to_string(std::llround(c.length));
    case Crossover::Kind::below_range:
      return "at every measured T (extrapolated crossover T ~ " + std::to_string(std::llround(c.length)) + ")";
    case Crossover::Kind::always: return "at every measured T";
  }
  return "-";
}

}  // namespace

int profile_command(const ProfileOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  std::vector<SweepAxis> axes = read_sweep_axes(options.file);
  std::vector<SweepVariant> variants = axes.empty() ? std::vector<SweepVariant>{SweepVariant{"model", {}, {}}}
                                                    : expand_sweep(axes);
  std::vector<std::int64_t> lengths;
  for (const std::string& s : options.seq_lens) {
    try {
      lengths.push_back(std::stoll(s));
    } catch (const std::exception&) {
      throw UsageError("--seq-lens: '" + s + "' is not a length", "for example --seq-lens 512,1024,2048");
    }
    if (lengths.back() < 2) throw UsageError("--seq-lens: lengths must be >= 2");
  }
  std::sort(lengths.begin(), lengths.end());
  const double limit_mib = options.memory_limit_gib * 1024.0;

  std::vector<Series> all;
  for (const SweepVariant& v : variants) {
    const Experiment e = load_sweep_variant(options.file, options.common.experiment_options(), v, axes, registry);
    if (e.train.integer("threads") > 0) set_num_threads(static_cast<int>(e.train.integer("threads")));
    const ExperimentObjects objects = build_experiment(e, registry);
    Series series;
    series.name = v.name;
    for (std::int64_t T : lengths) {
      // Predict this length's memory and step time from the last two (cost ~ T^slope,
      // at least linear) before trying it.
      if (series.points.size() >= 2) {
        const Point& a = series.points[series.points.size() - 2];
        const Point& b = series.points.back();
        const auto predict = [&](double Point::*field) {
          const double slope = std::log(b.*field / a.*field) / std::log(double(b.T) / double(a.T));
          return b.*field * std::pow(double(T) / double(b.T), std::max(slope, 1.0));
        };
        const double memory_mib = predict(&Point::train_peak_mib), step_s = predict(&Point::train_ms) / 1000.0;
        if (memory_mib > limit_mib) {
          series.skipped = "T >= " + std::to_string(T) + ": predicted " + fmt(memory_mib / 1024.0) + " GiB > limit";
          break;
        }
        if (step_s > options.time_limit_s) {
          series.skipped = "T >= " + std::to_string(T) + ": predicted " + fmt(step_s, 0) + " s per step > limit";
          break;
        }
      }
      const Point p = measure(*objects.model, T, options.batch, options.repeats, options.decode_tokens);
      series.points.push_back(p);
      std::fprintf(stderr, "%-20s T %7lld  train %10.2f ms  peak %9.1f MiB  decode %8.3f ms/token  cache %10.1f KiB\n",
                   v.name.c_str(), static_cast<long long>(T), p.train_ms, p.train_peak_mib, p.decode_ms, p.cache_kib);
    }
    all.push_back(std::move(series));
  }

  std::ostringstream csv, md;
  csv << "variant,seq_len,train_step_ms,train_peak_mib,decode_ms_per_token,decode_cache_kib\n";
  md << "| variant | T | train step (ms) | train peak (MiB) | decode (ms/token) | cache (KiB) |\n|---|---|---|---|---|---|\n";
  for (const Series& s : all)
    for (const Point& p : s.points) {
      csv << run_folder::csv_field(s.name) << "," << p.T << "," << fmt(p.train_ms, 3) << "," << fmt(p.train_peak_mib, 2) << ","
          << fmt(p.decode_ms, 4) << "," << fmt(p.cache_kib, 1) << "\n";
      md << "| " << s.name << " | " << p.T << " | " << fmt(p.train_ms) << " | " << fmt(p.train_peak_mib, 1) << " | "
         << fmt(p.decode_ms, 3) << " | " << fmt(p.cache_kib, 1) << " |\n";
    }
  md << "\nLog-log slopes against T (1: linear, 2: quadratic):\n\n"
     << "| variant | train step time | train peak memory | decode time per token | cache | not measured |\n"
     << "|---|---|---|---|---|---|\n";
  for (const Series& s : all)
    md << "| " << s.name << " | " << fmt(slope_of(s, &Point::train_ms)) << " | "
       << fmt(slope_of(s, &Point::train_peak_mib)) << " | " << fmt(slope_of(s, &Point::decode_ms)) << " | "
       << fmt(slope_of(s, &Point::cache_kib)) << " | " << (s.skipped.empty() ? "-" : s.skipped)
       << " |\n";
  md << "\nWhere one variant becomes no slower than another and stays so up to the longest measured length "
        "(interpolated in log-log between the two measured lengths around it):\n\n";
  bool any = false;
  for (const Series& a : all)
    for (const Series& b : all) {
      if (&a == &b || a.points.empty() || b.points.empty()) continue;
      const Crossover train = crossover(a, b, &Point::train_ms), decode = crossover(a, b, &Point::decode_ms);
      if (train.kind == Crossover::Kind::none && decode.kind == Crossover::Kind::none) continue;
      any = true;
      md << "- " << a.name << " vs " << b.name << ": training step " << describe(train) << "; decoding "
         << describe(decode) << "\n";
    }
  if (!any) md << "- none within the measured lengths\n";

  if (!options.out.empty()) {
    std::error_code ec;
    fs::create_directories(options.out, ec);
    write_text_atomically(fs::path(options.out) / "profile.csv", csv.str());
    write_text_atomically(fs::path(options.out) / "profile.md", md.str());
  }
  std::cout << md.str();
  return kOk;
}

}  // namespace strata::cli
