// The CUDA kernels on a GPU: every entry of the backend table that has a CUDA kernel,
// against the CPU f64 result (the conformance suite), in f32, f64 and bf16; memory round
// trips; random streams equal to the CPU's bit for bit. Runs only where a GPU is visible
// (gpu_main.cpp skips otherwise); ctest also runs it under compute-sanitizer.
#include <cmath>
#include <iostream>

#include "catch.h"
#include "helpers.h"
#include "strata/allocator.h"
#include "strata/backend.h"
#include "strata/device.h"
#include "strata/error.h"
#include "strata/packing.h"
#include "strata/precision.h"
#include "strata/random.h"
#include "strata/testing/conformance.h"

using namespace strata;

TEST_CASE("cuda gpu: fill and round trip match the CPU", "[cuda]") {
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    const Tensor on_gpu = Tensor::full({1000, 3}, 2.0, dt, Device::cuda(0));
    CHECK(on_gpu.device() == Device::cuda(0));
    CHECK(on_gpu.to_vector<double>() == Tensor::full({1000, 3}, 2.0, dt).to_vector<double>());
  }
  Generator gen(1);
  const Tensor x = Tensor::randn({257, 33}, gen);
  CHECK_NOTHROW(synchronize(Device::cuda(0)));
  const Tensor back = x.to(Device::cuda(0)).to(Device::cpu());
  CHECK(back.to_vector<float>() == x.to_vector<float>());
  // a transposed view crosses as its values
  CHECK(x.transpose(0, 1).to(Device::cuda(0)).to(Device::cpu()).to_vector<float>() ==
        x.transpose(0, 1).contiguous().to_vector<float>());
  // gradients flow back across the copy
  Tensor w = Tensor::randn({4}, gen, DType::f64).requires_grad_();
  const Tensor on_gpu = w.to(Device::cuda(0));
  on_gpu.to(Device::cpu()).backward(Tensor::ones({4}, DType::f64));
  CHECK(w.grad().to_vector<double>() == std::vector<double>(4, 1.0));
}

TEST_CASE("cuda gpu: random fills draw the CPU's Philox stream", "[cuda]") {
  const Device gpu = Device::cuda(0);
  for (DType dt : {DType::f32, DType::f64}) {
    Generator on_cpu(7), on_gpu(7);
    // uniform draws: integer arithmetic and one rounding, so bit for bit
    CHECK(Tensor::rand({1001}, on_gpu, dt, -2.0, 3.0, gpu).to_vector<double>() ==
          Tensor::rand({1001}, on_cpu, dt, -2.0, 3.0).to_vector<double>());
    // normal draws: Box-Muller through the device's log, sin and cos (not glibc's)
    const std::vector<double> got = Tensor::randn({1003}, on_gpu, dt, 0.5, 2.0, gpu).to_vector<double>();
    const std::vector<double> want = Tensor::randn({1003}, on_cpu, dt, 0.5, 2.0).to_vector<double>();
    REQUIRE(got.size() == want.size());
    const double tolerance = dt == DType::f32 ? 1e-6 : 1e-13;
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) <= tolerance * (1 + std::abs(want[i])));
    // the generators advanced alike
    CHECK(on_gpu.reserve(1) == on_cpu.reserve(1));
  }
  Generator on_cpu(9), on_gpu(9);
  CHECK(Tensor::randint({999}, -5, 1000, on_gpu, gpu).to_vector<std::int64_t>() ==
        Tensor::randint({999}, -5, 1000, on_cpu).to_vector<std::int64_t>());
}

TEST_CASE("cuda gpu: every entry with a CUDA kernel passes the conformance suite", "[cuda][conformance]") {
  testing::ConformanceOptions options;
  options.devices = {Device::cuda(0)};
  const testing::ConformanceReport report = testing::run_conformance(testing::core_conformance_cases(), options);
  std::cout << report.table();
  CHECK(report.passed);
  // the cells that ran on the GPU: each entry with a CUDA kernel must have passed somewhere
  for (const backend::OpEntry* op : backend::ops()) {
    bool has_cuda_kernel = false;
    for (const backend::KernelInfo& k : op->kernels()) has_cuda_kernel |= k.device == DeviceType::cuda;
    if (!has_cuda_kernel) continue;
    bool ran = false;
    for (const testing::ConformanceCell& c : report.cells)
      ran |= c.op == op->name() && c.device.is_cuda() &&
             (c.status == testing::ConformanceStatus::pass || c.status == testing::ConformanceStatus::policy_f32);
    INFO(op->name() << " has a CUDA kernel but no conformance case ran it on the GPU");
    CHECK(ran);
  }
}

TEST_CASE("cuda gpu: tf32 products (tensor cores) agree with the CPU's rounded-operand products", "[cuda][precision]") {
  Generator gen(3);
  const Tensor x = Tensor::randn({96, 256}, gen), w = Tensor::randn({64, 256}, gen);
  const Tensor gx = Tensor::randn({40, 32}, gen), gw = Tensor::randn({3, 24, 32}, gen);
  const Tensor sizes = Tensor::from_vector(std::vector<std::int64_t>{25, 0, 15}, {3});
  const Device gpu = Device::cuda(0);
  const PrecisionGuard tf32(Precision::tf32);
  // both multiply the same TF32 values; only the f32 accumulation order differs
  const auto close = [](const Tensor& on_gpu, const Tensor& on_cpu) {
    const std::vector<float> a = on_gpu.to(Device::cpu()).to_vector<float>(), b = on_cpu.to_vector<float>();
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      worst = std::max(worst, double(std::abs(a[i] - b[i])));
      scale = std::max(scale, double(std::abs(b[i])));
    }
    return worst <= 1e-5 * scale;
  };
  CHECK(close(linear(x.to(gpu), w.to(gpu)), linear(x, w)));
  CHECK(close(grouped_matmul(gx.to(gpu), gw.to(gpu), sizes), grouped_matmul(gx, gw, sizes)));
}

namespace {

// The backend that ran each attention entry last (set through the table's call observer).
std::string g_forward_backend, g_backward_backend;
void note_attention(const backend::OpEntry& op, Device, const backend::DTypeList&, const std::string& backend) {
  if (op.name() == "attention") g_forward_backend = backend;
  if (op.name() == "attention_backward") g_backward_backend = backend;
}

struct AttentionRun {
  Tensor out, dq, dk, dv;  // on the CPU
};

// out and the gradients of sum(out * w) on `device` under `precision`; q [2, 96, 8, d],
// k, v [2, 96, 2, d] (GQA), from the same f32 values on every device.
AttentionRun attention_on(Device device, Precision precision, DType dtype, std::int64_t d, std::int64_t window) {
  Generator g(21);
  const auto make = [&](std::int64_t heads) {
    return Tensor::randn({2, 96, heads, d}, g).to(dtype).to(device).requires_grad_();
  };
  const Tensor q = make(8), k = make(2), v = make(2);
  const Tensor w = Tensor::randn({2, 96, 8, d}, g).to(dtype).to(device);
  AttentionOptions options;
  options.window = window;
  const PrecisionGuard guard(precision);
  const Tensor out = attention(q, k, v, options);
  sum(mul(out, w)).backward();
  const Device cpu = Device::cpu();
  return {out.detach().to(cpu), q.grad().to(cpu), k.grad().to(cpu), v.grad().to(cpu)};
}

}  // namespace

// cuDNN's fused attention under the bf16 policy: the training shapes go to cuDNN (not the
// f32 fallback) and agree with the CPU's f64 result within bf16 accuracy; a head_dim cuDNN
// refuses runs on the own kernel in f32. Without cuDNN in the build (the emulated GPU) it
// checks only that the policy falls back.
TEST_CASE("cuda gpu: bf16 attention runs on cuDNN and agrees with the CPU in f64", "[cuda][cudnn]") {
  bool has_cudnn = false;  // a cuDNN kernel is registered: this build has cuDNN
  for (const backend::KernelInfo& k : backend::find_op("attention")->kernels()) has_cudnn |= k.backend == "cudnn";
  const backend::ScopedCallObserver observer(note_attention);
  for (const std::int64_t window : {std::int64_t(0), std::int64_t(24)}) {
    INFO("window " << window);
    const AttentionRun reduced = attention_on(Device::cuda(0), Precision::bf16, DType::f32, 64, window);
    CHECK(g_forward_backend == (has_cudnn ? "cudnn" : "cuda"));
    CHECK(g_backward_backend == (has_cudnn ? "cudnn" : "cuda"));
    const AttentionRun exact = attention_on(Device::cpu(), Precision::f32, DType::f64, 64, window);
    CHECK(test::relative_error(reduced.out, exact.out) < 2e-2);
    CHECK(test::relative_error(reduced.dq, exact.dq) < 2e-2);
    CHECK(test::relative_error(reduced.dk, exact.dk) < 2e-2);
    CHECK(test::relative_error(reduced.dv, exact.dv) < 2e-2);
  }
  attention_on(Device::cuda(0), Precision::bf16, DType::f32, 12, 0);  // head_dim 12: not a multiple of 8
  CHECK(g_forward_backend == "cuda");
}

// Packed documents: the backend keeps device copies of recent document starts and reuses
// one while the host values are the same; starts that change between calls (and a new
// tensor with old values) must each give the CPU's result.
TEST_CASE("cuda gpu: packed attention follows the document starts of each call", "[cuda]") {
  const std::int64_t B = 2, T = 24;
  const Tensor a = sequence_starts_from_lengths({{5, 7, 12}, {24}}, T),
               b = sequence_starts_from_lengths({{10, 14}, {3, 3, 18}}, T);
  Generator g(5);
  const Tensor q = Tensor::randn({B, T, 4, 16}, g, DType::f64), k = Tensor::randn({B, T, 2, 16}, g, DType::f64),
               v = Tensor::randn({B, T, 2, 16}, g, DType::f64);
  const Device gpu = Device::cuda(0);
  for (const Tensor& starts : {a, b, a.clone(), b}) {
    AttentionOptions options;
    options.sequence_starts = starts;
    const Tensor on_cpu = attention(q, k, v, options);
    const Tensor on_gpu = attention(q.to(gpu), k.to(gpu), v.to(gpu), options).to(Device::cpu());
    CHECK(test::relative_error(on_gpu, on_cpu) < 1e-12);
  }
}

// Needs an integrated GPU small enough to fill: the emulated one (STRATA_EMU_INTEGRATED=1,
// STRATA_EMU_DEVICE_MIB=256); elsewhere it checks nothing but the memory query.
TEST_CASE("cuda gpu: an integrated GPU's allocator counts the CPU's live memory against the pool", "[integrated]") {
  const Device gpu = Device::cuda(0);
  const CudaMemory memory = cuda_memory(gpu);
  CHECK(memory.total_bytes > 0);
  CHECK(memory.free_bytes <= memory.total_bytes);
  if (!memory.shares_host_memory || memory.total_bytes > (std::int64_t(1) << 30)) {
    WARN("not a small integrated GPU: the shared-pool check needs the emulated one");
    return;
  }
  const std::int64_t floats = memory.total_bytes / 4;
  // 5/8 of the pool on the CPU: a GPU tensor of 5/8 more cannot fit the one pool
  Tensor on_cpu = Tensor::zeros({floats / 8 * 5});
  try {
    const Tensor on_gpu = Tensor::zeros({floats / 8 * 5}, DType::f32, gpu);
    FAIL("the GPU allocation succeeded although the CPU holds most of the shared pool");
  } catch (const DeviceError& e) {
    CHECK_THAT(e.what(), Catch::Contains("out of memory on cuda:0") && Catch::Contains("shared with the CPU"));
  }
  on_cpu = Tensor();  // freed (the CPU cache keeps it, but not live): now it fits
  allocator_for(Device::cpu()).empty_cache();
  const Tensor on_gpu = Tensor::zeros({floats / 8 * 5}, DType::f32, gpu);
  CHECK(on_gpu.numel() == floats / 8 * 5);
}
