// GPU timings of the ops that dominate training, through strata's ops on CUDA tensors (what a
// training step runs, dtype conversions included), one JSON line per case:
//   gemm: linear (x w^T) at transformer shapes, bf16 mixed precision and strict f32:
//         TFLOP/s and the fraction of the GPU's dense bf16 peak;
//   attention: causal flash attention forward + backward, f32 and the bf16 policy (cuDNN):
//         TFLOP/s;
//   selective_scan: forward + backward, f32: GB/s of the bytes it must move, and the
//         fraction of the GPU's memory bandwidth;
//   ssd: Mamba-2's scan, forward + backward, f32 (the same kernels under the SSD layout):
//         likewise;
//   decode_attention: one new token against a KV cache of 4k and 32k keys (the split-key
//         kernel), f32: GB/s of the cache it reads, and the fraction of the bandwidth.
// Peaks come from a table of known GPUs (datasheet figures, dense, no sparsity); unknown
// GPUs report null fractions. Times are medians over --repeats after --warmup, each
// bracketed by cudaDeviceSynchronize. Without a GPU it prints one line saying so and exits 77.
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "strata/autograd.h"
#include "strata/backend.h"
#include "strata/ops.h"
#include "strata/ops/ssd.h"
#include "strata/precision.h"
#include "strata/random.h"
#include "strata/tensor.h"
#include "timing.h"

using namespace strata;
using bench::Clock;
using bench::median;
using bench::ms_since;

namespace {

// The backend that ran the attention forward last ("cuda": the own kernel, "cudnn").
std::string g_attention_backend;
void note_attention_backend(const backend::OpEntry& op, Device, const backend::DTypeList&, const std::string& backend) {
  if (op.name() == "attention") g_attention_backend = backend;
}

struct GpuPeaks {
  const char* name_contains;
  double bf16_tflops;   // dense tensor-core bf16
  double hbm_gb_per_s;  // memory bandwidth
};
// NVIDIA datasheets (SXM parts): H200 989 TFLOP/s, 4.8 TB/s; H100 SXM 989, 3.35 TB/s;
// A100 SXM 80GB 312, 2.04 TB/s; B200 2250, 8 TB/s. GB10 (DGX Spark) is left out: its dense
// bf16 figure is not published as such; its LPDDR5x is 273 GB/s.
constexpr GpuPeaks kPeaks[] = {{"H200", 989, 4800}, {"H100", 989, 3350}, {"A100", 312, 2039}, {"B200", 2250, 8000}};

const GpuPeaks* peaks_of(const std::string& name) {
  for (const GpuPeaks& p : kPeaks)
    if (name.find(p.name_contains) != std::string::npos) return &p;
  return nullptr;
}

void sync() { cudaDeviceSynchronize(); }

// Median milliseconds of `work` (synchronised before and after each repetition).
template <class Work>
double time_ms(int warmup, int repeats, Work work) {
  for (int i = 0; i < warmup; ++i) work();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    sync();
    const auto start = Clock::now();
    work();
    sync();
    ms.push_back(ms_since(start));
  }
  return median(ms);
}

nlohmann::json fraction(double value, const GpuPeaks* peaks, double GpuPeaks::*field) {
  return peaks ? nlohmann::json(value / (peaks->*field)) : nlohmann::json(nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_cuda: GEMM, attention and selective-scan timings on a GPU (JSON lines)"};
  int warmup = 3, repeats = 10;
  bool quick = false;
  app.add_option("--warmup", warmup, "untimed repetitions first");
  app.add_option("--repeats", repeats, "timed repetitions (the median is reported)");
  app.add_flag("--quick", quick, "small shapes, to check that it runs");
  CLI11_PARSE(app, argc, argv);

  if (cuda_device_count() == 0) {
    std::cout << nlohmann::json{{"skipped", "no GPU"}, {"built_with_cuda", built_with_cuda()}}.dump() << "\n";
    return 77;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  const std::string gpu = prop.name;
  const GpuPeaks* peaks = peaks_of(gpu);
  std::cout << nlohmann::json{{"case", "gpu"},
                              {"gpu", gpu},
                              {"bf16_tflops_peak", peaks ? nlohmann::json(peaks->bf16_tflops) : nlohmann::json(nullptr)},
                              {"hbm_gb_per_s_peak", peaks ? nlohmann::json(peaks->hbm_gb_per_s) : nlohmann::json(nullptr)}}
                   .dump()
            << "\n";
  const Device dev = Device::cuda(0);
  Generator gen(1);

  // ---- GEMM: linear(x [M, K], w [N, K]) -> [M, N] -------------------------------------
  struct GemmShape {
    std::int64_t m, k, n;
    const char* what;
  };
  const std::vector<GemmShape> gemms =
      quick ? std::vector<GemmShape>{{256, 256, 256, "tiny"}}
            : std::vector<GemmShape>{{16384, 4096, 4096, "attention projection, d 4096, 16k tokens"},
                                     {16384, 4096, 14336, "Mixtral expert up-projection, 16k tokens"},
                                     {16384, 14336, 4096, "Mixtral expert down-projection, 16k tokens"},
                                     {8192, 8192, 8192, "square 8192"}};
  for (const GemmShape& s : gemms) {
    const autograd::NoGradGuard no_grad;
    const Tensor x = Tensor::randn({s.m, s.k}, gen, DType::f32, 0, 1, dev);
    const Tensor w = Tensor::randn({s.n, s.k}, gen, DType::f32, 0, 0.02, dev);
    const double flop = 2.0 * double(s.m) * double(s.n) * double(s.k);
    for (const Precision p : {Precision::bf16, Precision::tf32, Precision::f32}) {
      const PrecisionGuard guard(p);
      const double ms = time_ms(warmup, repeats, [&] { (void)linear(x, w); });
      const double tflops = flop / (ms * 1e-3) / 1e12;
      std::cout << nlohmann::json{{"case", "gemm"},      {"gpu", gpu},       {"shape", s.what},
                                  {"m", s.m},            {"k", s.k},         {"n", s.n},
                                  {"precision", precision_name(p)}, {"ms", ms}, {"tflops", tflops},
                                  {"fraction_of_bf16_peak", fraction(tflops, peaks, &GpuPeaks::bf16_tflops)}}
                       .dump()
                << "\n";
    }
  }

  // ---- attention: causal, forward + backward, f32 (own kernel) and bf16 (the policy:
  // cuDNN's fused attention where the build has it, else the own kernel in f32) ----------
  for (const Precision p : {Precision::f32, Precision::bf16}) {
    const std::int64_t B = quick ? 1 : 4, H = quick ? 2 : 16, T = quick ? 128 : 2048, d = 64;
    Tensor q = Tensor::randn({B, T, H, d}, gen, DType::f32, 0, 1, dev).requires_grad_();
    Tensor k = Tensor::randn({B, T, H, d}, gen, DType::f32, 0, 1, dev).requires_grad_();
    Tensor v = Tensor::randn({B, T, H, d}, gen, DType::f32, 0, 1, dev).requires_grad_();
    const Tensor dout = Tensor::randn({B, T, H, d}, gen, DType::f32, 0, 1, dev);
    const PrecisionGuard guard(p);
    const backend::ScopedCallObserver observer(note_attention_backend);
    const double ms = time_ms(warmup, repeats, [&] {
      const Tensor out = attention(q, k, v);
      out.backward(dout);
    });
    // forward 4 B H T^2 d / 2 (causal), backward 2.5 times that (FlashAttention-2's count)
    const double flop = 3.5 * 4.0 * double(B * H) * double(T) * double(T) * double(d) / 2.0;
    const double tflops = flop / (ms * 1e-3) / 1e12;
    std::cout << nlohmann::json{{"case", "attention"},
                                {"gpu", gpu},
                                {"precision", precision_name(p)},
                                {"batch", B},
                                {"heads", H},
                                {"seq_len", T},
                                {"head_dim", d},
                                {"ms", ms},
                                {"tflops", tflops},
                                {"backend", g_attention_backend}}
                     .dump()
              << "\n";
  }

  // ---- selective scan: f32, forward + backward -----------------------------------------
  {
    const std::int64_t B = quick ? 1 : 4, T = quick ? 128 : 2048, D = quick ? 64 : 2048, N = 16;
    SelectiveScanInputs in;
    in.u = Tensor::randn({B, T, D}, gen, DType::f32, 0, 1, dev).requires_grad_();
    in.delta = Tensor::randn({B, T, D}, gen, DType::f32, 0, 1, dev).requires_grad_();
    in.A = Tensor::rand({D, N}, gen, DType::f32, -2, -0.5, dev).requires_grad_();
    in.B = Tensor::randn({B, T, N}, gen, DType::f32, 0, 1, dev).requires_grad_();
    in.C = Tensor::randn({B, T, N}, gen, DType::f32, 0, 1, dev).requires_grad_();
    in.D = Tensor::ones({D}, DType::f32, dev).requires_grad_();
    in.z = Tensor::randn({B, T, D}, gen, DType::f32, 0, 1, dev).requires_grad_();
    in.delta_bias = Tensor::zeros({D}, DType::f32, dev).requires_grad_();
    const Tensor dy = Tensor::randn({B, T, D}, gen, DType::f32, 0, 1, dev);
    const double ms = time_ms(warmup, repeats, [&] { selective_scan(in).y.backward(dy); });
    // The bytes a fused scan must move (f32): forward reads u, delta, z, B, C and writes y;
    // backward reads u, delta, z, B, C, dy and writes du, ddelta, dz, dB, dC.
    const double btd = double(B * T * D), btn = double(B * T * N);
    const double bytes = 4.0 * ((3 * btd + 2 * btn + btd) + (4 * btd + 2 * btn + 3 * btd + 2 * btn));
    const double gb_per_s = bytes / (ms * 1e-3) / 1e9;
    std::cout << nlohmann::json{{"case", "selective_scan"},
                                {"gpu", gpu},
                                {"dtype", "f32"},
                                {"batch", B},
                                {"seq_len", T},
                                {"channels", D},
                                {"d_state", N},
                                {"ms", ms},
                                {"gb_per_s", gb_per_s},
                                {"fraction_of_bandwidth", fraction(gb_per_s, peaks, &GpuPeaks::hbm_gb_per_s)}}
                     .dump()
              << "\n";
  }

  // ---- SSD (Mamba-2): f32, forward + backward, headdim 64, d_state 128, one group --------
  {
    const std::int64_t B = quick ? 1 : 4, T = quick ? 128 : 2048, H = quick ? 2 : 32, P = 64, G = 1,
                       N = quick ? 16 : 128;
    SsdInputs in;
    in.x = Tensor::randn({B, T, H, P}, gen, DType::f32, 0, 1, dev).requires_grad_();
    in.dt = Tensor::rand({B, T, H}, gen, DType::f32, 0.001, 0.1, dev).requires_grad_();
    in.A = Tensor::rand({H}, gen, DType::f32, -4, -1, dev).requires_grad_();
    in.B = Tensor::randn({B, T, G, N}, gen, DType::f32, 0, 1, dev).requires_grad_();
    in.C = Tensor::randn({B, T, G, N}, gen, DType::f32, 0, 1, dev).requires_grad_();
    const Tensor dy = Tensor::randn({B, T, H, P}, gen, DType::f32, 0, 1, dev);
    const double ms = time_ms(warmup, repeats, [&] { ssd(in).y.backward(dy); });
    // forward reads x, dt, B, C and writes y; backward reads x, dt, B, C, dy and writes dx,
    // ddt, dB, dC (f32)
    const double x = double(B * T * H * P), bc = double(B * T * G * N), t = double(B * T * H);
    const double bytes = 4.0 * ((x + t + 2 * bc + x) + (x + t + 2 * bc + x + x + t + 2 * bc));
    const double gb_per_s = bytes / (ms * 1e-3) / 1e9;
    std::cout << nlohmann::json{{"case", "ssd"},
                                {"gpu", gpu},
                                {"dtype", "f32"},
                                {"batch", B},
                                {"seq_len", T},
                                {"heads", H},
                                {"head_dim", P},
                                {"d_state", N},
                                {"ms", ms},
                                {"gb_per_s", gb_per_s},
                                {"fraction_of_bandwidth", fraction(gb_per_s, peaks, &GpuPeaks::hbm_gb_per_s)}}
                     .dump()
              << "\n";
  }

  // ---- decoding: one token against a KV cache, f32, 32 query heads over 8 kv heads ----
  for (const std::int64_t S : quick ? std::vector<std::int64_t>{1024} : std::vector<std::int64_t>{4096, 32768}) {
    const autograd::NoGradGuard no_grad;
    const std::int64_t B = quick ? 1 : 8, Hq = 32, Hkv = 8, d = 128;
    const Tensor q = Tensor::randn({B, 1, Hq, d}, gen, DType::f32, 0, 1, dev);
    const Tensor k = Tensor::randn({B, S, Hkv, d}, gen, DType::f32, 0, 1, dev);
    const Tensor v = Tensor::randn({B, S, Hkv, d}, gen, DType::f32, 0, 1, dev);
    const backend::ScopedCallObserver observer(note_attention_backend);
    const double ms = time_ms(warmup, repeats, [&] { (void)attention(q, k, v); });
    const double bytes = 4.0 * 2.0 * double(B * S * Hkv * d);  // the cache's K and V, read once
    const double gb_per_s = bytes / (ms * 1e-3) / 1e9;
    std::cout << nlohmann::json{{"case", "decode_attention"},
                                {"gpu", gpu},
                                {"dtype", "f32"},
                                {"batch", B},
                                {"cache_len", S},
                                {"heads", Hq},
                                {"kv_heads", Hkv},
                                {"head_dim", d},
                                {"ms", ms},
                                {"gb_per_s", gb_per_s},
                                {"fraction_of_bandwidth", fraction(gb_per_s, peaks, &GpuPeaks::hbm_gb_per_s)},
                                {"backend", g_attention_backend}}
                     .dump()
              << "\n";
  }
  return 0;
}
