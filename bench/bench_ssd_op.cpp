// strata's ssd op (Mamba-2's chunked scan), forward and forward + backward through autograd,
// at one shape; prints one JSON object so that bench/pytorch/compare_ssd.py can interleave it
// with transformers' chunked PyTorch SSD.
//
//   bench_ssd_op --batch 1 --seq-len 1024 --heads 24 --head-dim 64 --groups 1 --states 128 --chunk 64
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
  CLI::App app{"time strata's ssd op forward and forward+backward (JSON on stdout)"};
  std::int64_t B = 1, T = 1024, H = 24, P = 64, G = 1, N = 128, chunk = 64;
  int repeats = 5, threads = 0;
  app.add_option("--batch", B);
  app.add_option("--seq-len", T);
  app.add_option("--heads", H);
  app.add_option("--head-dim", P);
  app.add_option("--groups", G);
  app.add_option("--states", N);
  app.add_option("--chunk", chunk);
  app.add_option("--repeats", repeats, "timed runs of each (median), after one untimed")->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "CPU threads (0: OMP_NUM_THREADS or all cores)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) set_num_threads(threads);
  apply_cpu_simd_environment();

  Generator gen(7);
  SsdInputs in;
  in.x = Tensor::randn({B, T, H, P}, gen).requires_grad_(true);
  in.dt = exp(add(mul(Tensor::randn({B, T, H}, gen), 0.5), -3.0)).detach().requires_grad_(true);
  in.A = neg(exp(mul(Tensor::randn({H}, gen), 0.5))).detach().requires_grad_(true);
  in.B = Tensor::randn({B, T, G, N}, gen).requires_grad_(true);
  in.C = Tensor::randn({B, T, G, N}, gen).requires_grad_(true);
  in.initial_state = Tensor::randn({B, H, P, N}, gen).requires_grad_(true);
  in.chunk = chunk;
  const Tensor dy = Tensor::randn({B, T, H, P}, gen);

  std::vector<double> forward_ms, both_ms;
  for (int r = 0; r <= repeats; ++r) {
    {
      autograd::NoGradGuard no_grad;
      const auto start = Clock::now();
      const Tensor y = ssd(in).y;
      if (r > 0) forward_ms.push_back(ms_since(start));
    }
    const auto start = Clock::now();
    const Tensor y = ssd(in).y;
    y.backward(dy);
    if (r > 0) both_ms.push_back(ms_since(start));
    for (Tensor* t : {&in.x, &in.dt, &in.A, &in.B, &in.C, &in.initial_state}) t->set_grad(Tensor());
  }
  const double tokens = double(B * T);
  nlohmann::json out{{"framework", "strata"},
                     {"threads", num_threads()},
                     {"shape", {B, T, H, P, G, N}},
                     {"chunk", chunk},
                     {"forward_ms", median(forward_ms)},
                     {"forward_backward_ms", median(both_ms)},
                     {"forward_backward_tokens_per_s", tokens / (median(both_ms) / 1000.0)}};
  std::cout << out.dump() << "\n";
  return 0;
}
