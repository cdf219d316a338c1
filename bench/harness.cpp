#include "harness.h"

#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "strata/runtime.h"

namespace strata::bench {

namespace {

struct Case {
  std::string group, variant, name;
  Work work;
  bool reference;
  std::string full_name() const { return group + "/" + variant + "/" + name; }
};
std::vector<Case>& cases() {
  static std::vector<Case> c;
  return c;
}

// Collects per-repetition times (seconds per iteration); the console shows only the
// median of each benchmark (all of them with --benchmark_repetitions=1).
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown;
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") shown.push_back(r);
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      if (r.repetitions <= 1) shown.push_back(r);
      const double seconds = r.real_accumulated_time / double(std::max<std::int64_t>(r.iterations, 1));
      times[r.run_name.function_name][r.repetition_index < 0 ? 0 : r.repetition_index] = seconds;
    }
    if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
  }
  std::map<std::string, std::map<std::int64_t, double>> times;  // name -> repetition -> seconds per iteration
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string describe(const Case& c, double seconds) {
  char buf[96];
  const int n = std::snprintf(buf, sizeof buf, "%10.1f us", seconds * 1e6);
  std::string out(buf, std::size_t(n));
  if (c.work.flops > 0) {
    std::snprintf(buf, sizeof buf, "  %7.1f GFLOP/s", c.work.flops / seconds / 1e9);
    out += buf;
  }
  if (c.work.bytes > 0) {
    std::snprintf(buf, sizeof buf, "  %7.1f GB/s", c.work.bytes / seconds / 1e9);
    out += buf;
  }
  if (c.work.updates > 0) {
    std::snprintf(buf, sizeof buf, "  %7.3f G updates/s", c.work.updates / seconds / 1e9);
    out += buf;
  }
  return out;
}

void print_summary(const CollectingReporter& rep) {
  std::map<std::string, std::vector<const Case*>> by_case;  // "group case" -> variants, in registration order
  for (const Case& c : cases()) by_case[c.group + ", " + c.name].push_back(&c);
  std::printf(
      "\nSide by side: median time and throughput; ratio = throughput / reference's, median [min, max]\n"
      "over repetitions paired by index.\n");
  for (const auto& [key, variants] : by_case) {
    const Case* ref = nullptr;
    for (const Case* v : variants)
      if (v->reference) ref = v;
    const auto ref_it = ref ? rep.times.find(ref->full_name()) : rep.times.end();
    bool ran = false;  // cases filtered out by --benchmark_filter print nothing
    for (const Case* v : variants) ran = ran || rep.times.count(v->full_name()) > 0;
    if (!ran) continue;
    std::printf("%s\n", key.c_str());
    for (const Case* v : variants) {
      const auto it = rep.times.find(v->full_name());
      if (it == rep.times.end()) continue;
      // Throughput ratio: a time ratio when both do the same work, else FLOP/s (or state
      // updates/s) over the reference's.
      double work_ratio = 1.0;
      if (ref && v->work.flops > 0 && ref->work.flops > 0)
        work_ratio = v->work.flops / ref->work.flops;
      else if (ref && v->work.updates > 0 && ref->work.updates > 0)
        work_ratio = v->work.updates / ref->work.updates;
      std::vector<double> seconds, ratios;
      for (const auto& [rep_index, t] : it->second) {
        seconds.push_back(t);
        if (ref_it != rep.times.end())
          if (auto r = ref_it->second.find(rep_index); r != ref_it->second.end())
            ratios.push_back(work_ratio * r->second / t);
      }
      std::printf("  %-24s %s", v->variant.c_str(), describe(*v, median(seconds)).c_str());
      if (v == ref) {
        std::printf("  (reference)\n");
      } else if (!ratios.empty()) {
        std::sort(ratios.begin(), ratios.end());
        std::printf("  %6.3fx [%.3f, %.3f]\n", median(ratios), ratios.front(), ratios.back());
      } else {
        std::printf("\n");
      }
    }
  }
}

}  // namespace

// FMA throughput of one vector width: 12 independent accumulator chains per thread (enough
// to cover the 4-cycle latency on 2 pipes), for `threads` threads; GFLOP/s.
template <class Vec, int kLanes, class Fma, class Set>
double fma_rate(int threads, Fma fma, Set set) {
  constexpr long kIters = 20'000'000;
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      Vec acc[12];
      for (int i = 0; i < 12; ++i) acc[i] = set(float(i));
      const Vec a = set(0.999999f), b = set(1e-7f);
      for (long it = 0; it < kIters; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = fma(acc[i], a, b);
      keep(acc);
    }
    const double flops = double(threads) * kIters * 12 * kLanes * 2;
    best = std::max(best, flops / seconds_since(t0) / 1e9);
  }
  return best;
}

// The FMA peak of the widest vectors this build can use (AVX-512 where the compiler
// targets it: libraries such as oneDNN use it whatever the build targets, so a 256-bit
// figure alone would understate the ceiling on AVX-512 machines).
double fma_peak_gflops(int threads) {
  double peak = 0;
#if defined(__AVX2__) && defined(__FMA__)
  peak = fma_rate<__m256, 8>(
      threads, [](__m256 x, __m256 a, __m256 b) { return _mm256_fmadd_ps(x, a, b); },
      [](float v) { return _mm256_set1_ps(v); });
#endif
#if defined(__AVX512F__)
  peak = std::max(peak, fma_rate<__m512, 16>(
                            threads, [](__m512 x, __m512 a, __m512 b) { return _mm512_fmadd_ps(x, a, b); },
                            [](float v) { return _mm512_set1_ps(v); }));
#endif
  (void)threads;
  return peak;
}

// STREAM triad a = b + s c over 3 x 128 MiB arrays; GB/s of compulsory traffic.
double triad_gbps(int threads) {
  const std::size_t n = std::size_t(32) << 20;
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  double best = 0;
  for (int trial = 0; trial < 4; ++trial) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::size_t i = 0; i < n; ++i) a[i] = b[i] + 3.0f * c[i];
    best = std::max(best, 3.0 * double(n) * sizeof(float) / seconds_since(t0) / 1e9);
  }
  keep(a.data());
  return best;
}

void keep(const void* p) { benchmark::DoNotOptimize(p); }

void add(const std::string& group, const std::string& variant, const std::string& case_name, Work work,
         std::function<void()> body, bool reference) {
  cases().push_back({group, variant, case_name, work, reference});
  auto* b = benchmark::RegisterBenchmark(
      (group + "/" + variant + "/" + case_name).c_str(), [body, work, reference](benchmark::State& state) {
        for (auto _ : state) body();
        if (work.flops > 0)
          state.counters["FLOP/s"] = benchmark::Counter(work.flops, benchmark::Counter::kIsIterationInvariantRate);
        if (work.bytes > 0)
          state.counters["bytes/s"] = benchmark::Counter(work.bytes, benchmark::Counter::kIsIterationInvariantRate);
        if (work.updates > 0)
          state.counters["updates/s"] = benchmark::Counter(work.updates, benchmark::Counter::kIsIterationInvariantRate);
        if (reference) state.counters["reference"] = 1;  // marks the denominator in the JSON output (bench/run)
      });
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

int run(int argc, char** argv, const std::string& title) {
  std::vector<char*> args(argv, argv + argc);
  std::vector<std::string> defaults = {"--benchmark_repetitions=5", "--benchmark_enable_random_interleaving=true",
                                       "--benchmark_min_time=0.2"};
  std::vector<std::string> owned;
  for (const std::string& d : defaults) {
    const std::string flag = d.substr(0, d.find('='));
    bool given = false;
    for (int i = 1; i < argc; ++i) given = given || std::strncmp(argv[i], flag.c_str(), flag.size()) == 0;
    if (!given) owned.push_back(d);
  }
  for (std::string& s : owned) args.push_back(s.data());
  int n = int(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  apply_cpu_simd_environment();  // STRATA_SIMD=AVX2 etc. times one path against another
  const int threads = num_threads();
  std::printf("%s\n%s\n", title.c_str(), build_info().c_str());
  std::printf(
      "hardware threads %u; measured FMA peak %.0f GFLOP/s (1 thread), %.0f GFLOP/s (%d threads); "
      "triad %.1f GB/s (%d threads)\n\n",
      std::thread::hardware_concurrency(), fma_peak_gflops(1), fma_peak_gflops(threads), threads, triad_gbps(threads),
      threads);
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_summary(reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace strata::bench
