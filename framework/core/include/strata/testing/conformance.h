#pragma once
// The backend conformance suite (in the manner of ggml's test-backend-ops): every entry of
// the backend table, run on every available device and dtype, on shapes that cover tile
// edges, strided views and broadcasting, with each output and each input gradient compared
// with the CPU f64 result.
//
//   auto report = testing::run_conformance(testing::core_conformance_cases(), {});
//   std::cout << report.table();   // op x backend x dtype: pass / FAIL / unsupported
//   return report.passed ? 0 : 1;
//
// A case is a function of tensors built from the public ops. The suite converts its
// floating inputs to the tested dtype and device, runs it, reduces the outputs to
// L = sum_k <w_k, y_k> with fixed random weights and runs backward; the error of each
// output and gradient is ||a - ref|| / ||ref|| (L2 over all elements) against the same case
// run in f64 on the CPU. A case names the table entries it checks; a call observer verifies
// that they really ran on the tested device, and an entry no case checks fails the suite.
#include <functional>
#include <string>
#include <vector>

#include "strata/device.h"
#include "strata/dtype.h"
#include "strata/tensor.h"

namespace strata::testing {

struct ConformanceCase {
  std::string name;               // "softmax rows of 33 (tile edge)"
  std::vector<std::string> ops;   // table entries it checks, e.g. {"softmax", "softmax_backward"}
  std::vector<Tensor> inputs;     // CPU tensors; floating ones are converted and get gradients
  std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)> fn;
  bool differentiable = true;     // false: outputs only (optimizer steps, random fills)
  // Compare with the CPU in the tested dtype rather than f64: for results that are defined
  // per dtype (random streams draw 32-bit uniforms for f32 and 64-bit ones for f64).
  bool reference_in_tested_dtype = false;
};

// Cases for every entry the core registers in the backend table.
std::vector<ConformanceCase> core_conformance_cases();

// Cases plugins registered for their own entries (PluginRegistrar::add_conformance_case),
// and the core's: what `strata backends --check` runs.
std::vector<ConformanceCase> all_conformance_cases();
void add_conformance_case(ConformanceCase c);

struct ConformanceOptions {
  std::vector<Device> devices;  // empty: the CPU and every visible CUDA device
  // empty: f32, bf16 and f64. bf16 is the mixed-precision policy (precision.h): f32 inputs
  // under PrecisionGuard(bf16), checked at tolerance_reduced.
  std::vector<DType> dtypes;
  std::vector<std::string> only_ops;  // empty: every entry; else just these (and the cases that check them)
  // Largest accepted relative L2 error, per dtype.
  double tolerance_f32 = 1e-5;
  double tolerance_f64 = 1e-10;
  double tolerance_reduced = 2e-2;  // bf16, f16
  double tolerance(DType dtype) const;
};

// policy_f32: in the bf16 column, an entry that ran in f32 because the mixed-precision policy
// keeps it there (norms, softmax, ...); it passed at that column's tolerance.
enum class ConformanceStatus { pass, fail, unsupported, reference, not_covered, policy_f32 };

struct ConformanceCell {
  std::string op;
  Device device;
  DType dtype = DType::f32;
  ConformanceStatus status = ConformanceStatus::not_covered;
  double worst_error = 0;
  int cases = 0;
  std::string detail;  // the failing case and what differed, or the NotImplementedError
};

struct ConformanceReport {
  std::vector<ConformanceCell> cells;  // one per (op, device, dtype)
  bool passed = true;                  // no fail and no op left without a case
  std::string table() const;           // aligned text table with a legend and the failures
};

ConformanceReport run_conformance(const std::vector<ConformanceCase>& cases, const ConformanceOptions& options);

}  // namespace strata::testing
