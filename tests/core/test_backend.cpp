// The backend table: dispatch, supports() predicates, errors for unsupported calls,
// precedence of later kernels, and the conformance suite catching a wrong kernel.
#include "catch.h"
#include "each_simd_target.h"
#include "framework/core/src/backend/core_kernels.h"
#include "strata/backend.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "strata/testing/conformance.h"

using namespace strata;

namespace {

struct DoubleCall {  // out = 2 x, contiguous
  const Tensor* x = nullptr;
  Tensor* out = nullptr;
  backend::DTypeList dtypes() const { return {x->dtype()}; }
};

void double_f32(const DoubleCall& c) {
  const float* x = c.x->data<float>();
  float* y = c.out->data<float>();
  for (std::int64_t i = 0; i < c.x->numel(); ++i) y[i] = 2 * x[i];
}

}  // namespace

TEST_CASE("backend table: every core entry has a CPU kernel for f32 and f64", "[backend]") {
  const std::vector<const backend::OpEntry*> ops = backend::ops();
  REQUIRE(ops.size() >= 30);
  for (const char* name : {"gemm", "attention", "attention_backward", "selective_scan", "selective_scan_backward",
                           "grouped_gemm", "causal_conv1d", "swiglu", "rmsnorm", "cross_entropy", "adamw"}) {
    INFO(name);
    const backend::OpEntry* op = backend::find_op(name);
    REQUIRE(op);
    bool cpu = false;
    for (const backend::KernelInfo& k : op->kernels())
      if (k.device == DeviceType::cpu && k.backend == "cpu")
        cpu = cpu || (std::count(k.dtypes.begin(), k.dtypes.end(), DType::f32) &&
                      std::count(k.dtypes.begin(), k.dtypes.end(), DType::f64));
    CHECK(cpu);
  }
  CHECK(backend::find_op("no_such_op") == nullptr);
}

TEST_CASE("backend table: an unsupported call names the op, device, dtypes and the backends that have it",
          "[backend][errors]") {
  backend::KernelOp<DoubleCall> op("test.double");
  op.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = {DType::f32}, .supports = {}, .run = double_f32});
  Tensor x = Tensor::full({3}, 1.5), out = Tensor::empty({3});
  op.run(Device::cpu(), {.x = &x, .out = &out});
  CHECK(out.to_vector<float>() == std::vector<float>{3, 3, 3});

  Tensor x64 = Tensor::full({3}, 1.5, DType::f64), out64 = Tensor::empty({3}, DType::f64);
  REQUIRE_THROWS_AS(op.run(Device::cpu(), {.x = &x64, .out = &out64}), NotImplementedError);
  REQUIRE_THROWS_WITH(op.run(Device::cpu(), {.x = &x64, .out = &out64}),
                      Catch::Contains("test.double: no kernel for cpu takes dtypes (f64)") &&
                          Catch::Contains("kernels exist for: cpu (f32)"));
  // nothing falls back to another device: a CUDA call names the CPU kernel but does not run it
  REQUIRE_THROWS_WITH(op.run(Device::cuda(0), {.x = &x, .out = &out}),
                      Catch::Contains("no kernel for cuda:0") && Catch::Contains("cpu (f32)"));
  CHECK_FALSE(op.supported(Device::cuda(0), {.x = &x, .out = &out}));

  // a shape limit declared as a predicate
  backend::KernelOp<DoubleCall> limited("test.double_small");
  limited.add({.backend = "cpu",
               .device = DeviceType::cpu,
               .dtypes = {DType::f32},
               .supports = [](const DoubleCall& c) { return c.x->numel() <= 2; },
               .run = double_f32});
  REQUIRE_THROWS_WITH(limited.run(Device::cpu(), {.x = &x, .out = &out}),
                      Catch::Contains("with these shapes or options"));
}

TEST_CASE("backend table: later kernels take the calls they support, earlier ones the rest", "[backend]") {
  backend::KernelOp<DoubleCall> op("test.precedence");
  op.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = {DType::f32}, .supports = {}, .run = double_f32});
  int fast_calls = 0;
  const std::size_t fast = op.add({.backend = "my_plugin",
                                   .device = DeviceType::cpu,
                                   .dtypes = {DType::f32},
                                   .supports = [](const DoubleCall& c) { return c.x->numel() % 4 == 0; },
                                   .run =
                                       [&](const DoubleCall& c) {
                                         ++fast_calls;
                                         double_f32(c);
                                       }});
  Tensor x4 = Tensor::ones({4}), out4 = Tensor::empty({4}), x3 = Tensor::ones({3}), out3 = Tensor::empty({3});
  op.run(Device::cpu(), {.x = &x4, .out = &out4});
  op.run(Device::cpu(), {.x = &x3, .out = &out3});
  CHECK(fast_calls == 1);
  op.remove(fast);
  op.run(Device::cpu(), {.x = &x4, .out = &out4});
  CHECK(fast_calls == 1);
  CHECK(out4.to_vector<float>() == std::vector<float>{2, 2, 2, 2});
}

TEST_CASE("backend table: two ops with one name are refused", "[backend][errors]") {
  backend::KernelOp<DoubleCall> a("test.same_name"), b("test.same_name");
  a.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = {DType::f32}, .supports = {}, .run = double_f32});
  REQUIRE_THROWS_WITH(
      b.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = {DType::f32}, .supports = {}, .run = double_f32}),
      Catch::Contains("another op is already named 'test.same_name'"));
}

TEST_CASE("conformance: every core entry passes on the CPU on every SIMD set, and a wrong kernel fails it",
          "[backend]") {
  testing::ConformanceOptions options;
  options.devices = {Device::cpu()};
  const auto cases = testing::core_conformance_cases();
  testing::for_each_simd_target([&] {
    const testing::ConformanceReport report = testing::run_conformance(cases, options);
    INFO(report.table());
    REQUIRE(report.passed);
  });

  // A softmax kernel off by 0.1% in every output, registered in front of the real one.
  auto& softmax = core_kernels::table().softmax;
  const std::size_t broken = softmax.add({.backend = "broken",
                                          .device = DeviceType::cpu,
                                          .dtypes = {DType::f32},
                                          .supports = {},
                                          .run = [](const core_kernels::SoftmaxCall& c) {
                                            const float* x = c.x->data<float>();
                                            float* y = c.out->data<float>();
                                            for (std::int64_t r = 0; r < c.rows; ++r) {
                                              double total = 0;
                                              for (std::int64_t j = 0; j < c.cols; ++j)
                                                total += std::exp(x[r * c.cols + j]);
                                              for (std::int64_t j = 0; j < c.cols; ++j)
                                                y[r * c.cols + j] = float(1.001 * std::exp(x[r * c.cols + j]) / total);
                                            }
                                          }});
  options.only_ops = {"softmax"};
  const testing::ConformanceReport bad = testing::run_conformance(cases, options);
  softmax.remove(broken);
  INFO(bad.table());
  CHECK_FALSE(bad.passed);
  bool softmax_failed = false;
  for (const testing::ConformanceCell& c : bad.cells)
    if (c.op == "softmax" && c.dtype == DType::f32) softmax_failed = c.status == testing::ConformanceStatus::fail;
  CHECK(softmax_failed);
  CHECK(bad.table().find("softmax on cpu f32") != std::string::npos);
  CHECK(testing::run_conformance(cases, options).passed);
}
