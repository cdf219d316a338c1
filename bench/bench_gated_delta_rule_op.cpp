// strata's gated_delta_rule op (Gated DeltaNet's chunked WY / UT form), forward and forward +
// backward through autograd, at one shape; prints one JSON object so that
// bench/pytorch/compare_gated_delta_rule.py can interleave it with transformers' chunked
// PyTorch gated delta rule.
//
//   bench_gated_delta_rule_op --batch 1 --seq-len 1024 --heads 16 --key-heads 16 --key-dim 128 --value-dim 128
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
  CLI::App app{"time strata's gated_delta_rule op forward and forward+backward (JSON on stdout)"};
  std::int64_t B = 1, T = 1024, H = 16, Hk = 0, K = 128, V = 128, chunk = 32;  // the op's default chunk
  int repeats = 5, threads = 0;
  app.add_option("--batch", B);
  app.add_option("--seq-len", T);
  app.add_option("--heads", H, "value heads");
  app.add_option("--key-heads", Hk, "q / k heads (0: as many as value heads)");
  app.add_option("--key-dim", K);
  app.add_option("--value-dim", V);
  app.add_option("--chunk", chunk);
  app.add_option("--repeats", repeats, "timed runs of each (median), after one untimed")->check(CLI::Range(1, 1000));
  app.add_option("--threads", threads, "CPU threads (0: OMP_NUM_THREADS or all cores)");
  CLI11_PARSE(app, argc, argv);
  if (Hk == 0) Hk = H;
  if (threads > 0) set_num_threads(threads);
  apply_cpu_simd_environment();

  // unit q and k, beta in (0, 1), decays around 0.9: what a Gated DeltaNet layer feeds it
  Generator gen(7);
  auto unit = [](const Tensor& x) { return div(x, sqrt(sum(mul(x, x), {-1}, true))); };
  GatedDeltaRuleInputs in;
  in.q = unit(Tensor::randn({B, T, Hk, K}, gen)).detach().requires_grad_(true);
  in.k = unit(Tensor::randn({B, T, Hk, K}, gen)).detach().requires_grad_(true);
  in.v = Tensor::randn({B, T, H, V}, gen).requires_grad_(true);
  in.g = neg(exp(add(mul(Tensor::randn({B, T, H}, gen), 0.5), -2.5))).detach().requires_grad_(true);
  in.beta = sigmoid(Tensor::randn({B, T, H}, gen)).detach().requires_grad_(true);
  in.initial_state = Tensor::randn({B, H, K, V}, gen).requires_grad_(true);
  in.chunk = chunk;
  const Tensor dout = Tensor::randn({B, T, H, V}, gen);

  std::vector<double> forward_ms, both_ms;
  for (int r = 0; r <= repeats; ++r) {
    {
      autograd::NoGradGuard no_grad;
      const auto start = Clock::now();
      const Tensor o = gated_delta_rule(in).o;
      if (r > 0) forward_ms.push_back(ms_since(start));
    }
    const auto start = Clock::now();
    const Tensor o = gated_delta_rule(in).o;
    o.backward(dout);
    if (r > 0) both_ms.push_back(ms_since(start));
    for (Tensor* t : {&in.q, &in.k, &in.v, &in.g, &in.beta, &in.initial_state}) t->set_grad(Tensor());
  }
  const double tokens = double(B * T);
  nlohmann::json out{{"framework", "strata"},
                     {"threads", num_threads()},
                     {"shape", {B, T, H, Hk, K, V}},
                     {"chunk", chunk},
                     {"forward_ms", median(forward_ms)},
                     {"forward_backward_ms", median(both_ms)},
                     {"forward_tokens_per_s", tokens / (median(forward_ms) / 1000.0)},
                     {"forward_backward_tokens_per_s", tokens / (median(both_ms) / 1000.0)}};
  std::cout << out.dump() << "\n";
  return 0;
}
