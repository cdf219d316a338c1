// strata's selective_scan op (forward, and forward + backward through autograd, as the
// Mamba mixer runs it: delta_softplus, delta_bias, D and z on) at one shape; prints one
// JSON object so that bench/pytorch/compare_scan.py can interleave it with the plain
// PyTorch reference scan.
//
//   bench_scan_op --batch 2 --seq-len 1024 --channels 768 --states 16 --repeats 5
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "strata/autograd.h"
#include "strata/ops.h"
#include "strata/runtime.h"
#include "timing.h"

using namespace strata;

using bench::Clock;
using bench::median;
using bench::ms_since;

int main(int argc, char** argv) {
  CLI::App app{"time strata's selective_scan op forward and forward+backward (JSON on stdout)"};
  std::int64_t B = 2, T = 1024, D = 768, N = 16;
  int repeats = 5, threads = 0;
  app.add_option("--batch", B);
  app.add_option("--seq-len", T);
  app.add_option("--channels", D);
  app.add_option("--states", N);
  app.add_option("--repeats", repeats, "timed runs of each (median), after one untimed")->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "CPU threads (0: OMP_NUM_THREADS or all cores)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_num_threads(threads);
  apply_cpu_simd_environment();

  Generator gen(7);
  SelectiveScanInputs in;
  in.u = Tensor::randn({B, T, D}, gen).requires_grad_(true);
  in.delta = add(Tensor::randn({B, T, D}, gen), -3.0).detach().requires_grad_(true);
  std::vector<float> a(std::size_t(D * N));
  for (std::int64_t i = 0; i < D * N; ++i) a[std::size_t(i)] = -float(i % N + 1);  // Mamba's A = -(n + 1)
  in.A = Tensor::from_vector(a, {D, N}).requires_grad_(true);
  in.B = Tensor::randn({B, T, N}, gen).requires_grad_(true);
  in.C = Tensor::randn({B, T, N}, gen).requires_grad_(true);
  in.D = Tensor::ones({D}).requires_grad_(true);
  in.z = Tensor::randn({B, T, D}, gen).requires_grad_(true);
  in.delta_bias = mul(Tensor::randn({D}, gen), 0.5).detach().requires_grad_(true);
  const Tensor dy = Tensor::randn({B, T, D}, gen);

  std::vector<double> forward_ms, both_ms;
  for (int r = 0; r <= repeats; ++r) {
    {
      autograd::NoGradGuard no_grad;
      const auto start = Clock::now();
      const Tensor y = selective_scan(in).y;
      if (r > 0) forward_ms.push_back(ms_since(start));
    }
    const auto start = Clock::now();
    const Tensor y = selective_scan(in).y;
    y.backward(dy);
    if (r > 0) both_ms.push_back(ms_since(start));
    for (Tensor* t : {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.z, &in.delta_bias}) t->set_grad(Tensor());  // gradients accumulate: start each run afresh
  }
  const double updates = double(B * T * D * N);
  nlohmann::json out{{"framework", "strata"},    {"threads", num_threads()},
                     {"shape", {B, T, D, N}},     {"forward_ms", median(forward_ms)},
                     {"forward_backward_ms", median(both_ms)},
                     {"forward_updates_per_s", updates / (median(forward_ms) / 1000.0)},
                     {"forward_backward_updates_per_s", updates / (median(both_ms) / 1000.0)}};
  std::cout << out.dump() << "\n";
  return 0;
}
