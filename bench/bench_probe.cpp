// The machine probe of bench/run: measured FMA peak (1 thread and all threads), STREAM-triad
// bandwidth, thread count and build, as one JSON object; the denominators of the suite's
// "fraction of the ceiling" columns.
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.h"
#include "strata/runtime.h"

int main() {
  using namespace strata;
  const int threads = num_threads();
  const nlohmann::json out{{"build", build_info()},
                           {"hardware_threads", std::thread::hardware_concurrency()},
                           {"threads", threads},
                           {"fma_peak_gflops_1_thread", bench::fma_peak_gflops(1)},
                           {"fma_peak_gflops", bench::fma_peak_gflops(threads)},
                           {"triad_gbps", bench::triad_gbps(threads)}};
  std::cout << out.dump() << "\n";
  return 0;
}
