#pragma once
// A thin layer over Google Benchmark for side-by-side comparisons:
// every case has a reference variant (raw BLAS, memcpy, ...) and strata variants; they
// run interleaved in random order, several repetitions each, in one process, and the
// summary gives each variant's throughput relative to the reference as the median
// (min, max) over repetitions. Absolute numbers drift on shared machines; ratios measured
// side by side do not.
#include <functional>
#include <string>

namespace strata::bench {

struct Work {
  double flops = 0;  // floating-point operations per iteration (0: not reported)
  double bytes = 0;  // compulsory memory traffic per iteration (0: not reported)
  double updates = 0;  // recurrence state updates per iteration, B T D N for scans (0: not reported)
};

// Registers `body` (one iteration) as "<group>/<variant>/<case_name>". The variant named
// `reference` of the same group and case is the denominator of the summary ratios.
void add(const std::string& group, const std::string& variant, const std::string& case_name, Work work,
         std::function<void()> body, bool reference = false);

// Parses Google Benchmark flags (defaults: 5 repetitions, random interleaving), prints the
// machine header (threads, BLAS, measured FMA peak and triad bandwidth), runs everything,
// and prints the ratio summary. Returns the process exit code.
int run(int argc, char** argv, const std::string& title);

// The machine's ceilings, measured on the spot: FMA throughput with `threads` threads
// (GFLOP/s, f32) and STREAM-triad bandwidth (GB/s of compulsory traffic).
double fma_peak_gflops(int threads);
double triad_gbps(int threads);

// Keeps the optimizer from dropping a computed value.
void keep(const void* p);

}  // namespace strata::bench
