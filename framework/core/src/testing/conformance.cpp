// The conformance runner: each case on each (device, dtype) against the CPU f64 result,
// folded into one cell per (table entry, device, dtype).
#include "strata/testing/conformance.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "strata/autograd.h"
#include "strata/backend.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "strata/precision.h"
#include "strata/random.h"

namespace strata::testing {

namespace {

// Table entries seen running on the tested device while a case runs (the observer is a
// plain function pointer, so what it fills lives here, set only around one run).
struct Observation {
  Device device;
  std::set<std::string> ops;
  std::set<std::string> reduced_ops;  // ran with a bf16 or f16 operand
};
Observation* g_observation = nullptr;

void observe(const backend::OpEntry& op, Device device, const backend::DTypeList& dtypes, const std::string&) {
  if (!g_observation || device != g_observation->device) return;
  g_observation->ops.insert(op.name());
  for (DType t : dtypes)
    if (is_reduced_precision(t)) g_observation->reduced_ops.insert(op.name());
}

struct CaseResult {
  std::vector<Tensor> values;  // outputs, then the gradients of the floating inputs (CPU)
  std::vector<std::string> labels;
};

// Runs the case with its floating inputs in `dtype` on `device`; outputs and gradients
// come back on the CPU. Gradients are of L = sum_k <w_k, y_k> over floating outputs.
// bf16 means the mixed-precision policy (precision.h): f32 inputs under PrecisionGuard(bf16).
CaseResult run_case(const ConformanceCase& c, DType dtype, Device device) {
  const PrecisionGuard precision(dtype == DType::bf16 ? Precision::bf16 : Precision::f32);
  if (dtype == DType::bf16) dtype = DType::f32;
  std::vector<Tensor> inputs;
  for (const Tensor& t : c.inputs) {
    Tensor x = (is_floating(t.dtype()) ? t.to(dtype) : t).to(device).detach();
    if (c.differentiable && is_floating(x.dtype())) x.requires_grad_();
    inputs.push_back(x);
  }
  std::vector<Tensor> outputs = c.fn(inputs);
  CaseResult r;
  Tensor loss;
  Generator weights(4242);
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const Tensor& y = outputs[k];
    r.values.push_back(y.detach().to(Device::cpu()));
    r.labels.push_back("output " + std::to_string(k));
    if (!c.differentiable || !is_floating(y.dtype()) || !y.requires_grad()) continue;
    const Tensor w = Tensor::randn(y.shape(), weights, DType::f64).to(y.dtype()).to(device);
    const Tensor term = sum(mul(y, w));
    loss = loss.defined() ? add(loss, term) : term;
  }
  if (!loss.defined()) return r;
  loss.backward();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    const Tensor g = inputs[i].grad();
    r.values.push_back(g.defined() ? g.to(Device::cpu()) : Tensor());
    r.labels.push_back("gradient of input " + std::to_string(i));
  }
  return r;
}

// ||a - ref|| / ||ref|| over all elements (infinite where they cannot be compared).
double relative_error(const Tensor& a, const Tensor& ref) {
  if (a.defined() != ref.defined()) return std::numeric_limits<double>::infinity();
  if (!a.defined()) return 0;
  if (a.shape() != ref.shape()) return std::numeric_limits<double>::infinity();
  const std::vector<double> x = a.to_vector<double>(), r = ref.to_vector<double>();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) != std::isnan(r[i])) return std::numeric_limits<double>::infinity();
    if (std::isnan(r[i])) continue;
    diff += (x[i] - r[i]) * (x[i] - r[i]);
    norm += r[i] * r[i];
  }
  if (diff == 0) return 0;
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-300);
}

std::string format_error(double e) {
  std::ostringstream s;
  s << std::setprecision(2) << std::scientific << e;
  return s.str();
}

int severity(ConformanceStatus s) {
  switch (s) {
    case ConformanceStatus::fail:
      return 4;
    case ConformanceStatus::pass:
    case ConformanceStatus::reference:
      return 3;
    case ConformanceStatus::policy_f32:
      return 2;
    case ConformanceStatus::unsupported:
      return 2;
    case ConformanceStatus::not_covered:
      break;
  }
  return 1;
}

std::string status_text(const ConformanceCell& cell) {
  switch (cell.status) {
    case ConformanceStatus::pass:
      return "pass " + format_error(cell.worst_error);
    case ConformanceStatus::fail:
      return "FAIL " + format_error(cell.worst_error);
    case ConformanceStatus::unsupported:
      return "unsupported";
    case ConformanceStatus::reference:
      return "reference";
    case ConformanceStatus::policy_f32:
      return "f32 by policy";
    case ConformanceStatus::not_covered:
      break;
  }
  return "NO CASE";
}

// Folds one case's outcome into a cell: a failure wins over passes, a pass over "unsupported".
void fold(ConformanceCell& cell, ConformanceStatus status, double error, const std::string& detail) {
  ++cell.cases;
  if (severity(status) > severity(cell.status)) {
    cell.status = status;
    cell.worst_error = error;
    cell.detail = detail;
  } else if (status == cell.status && error > cell.worst_error) {
    cell.worst_error = error;
    if (status == ConformanceStatus::fail) cell.detail = detail;
  }
}

}  // namespace

double ConformanceOptions::tolerance(DType dtype) const {
  switch (dtype) {
    case DType::f32:
      return tolerance_f32;
    case DType::f64:
      return tolerance_f64;
    default:
      return tolerance_reduced;
  }
}

ConformanceReport run_conformance(const std::vector<ConformanceCase>& cases, const ConformanceOptions& options) {
  std::vector<Device> devices = options.devices;
  if (devices.empty()) {
    devices.push_back(Device::cpu());
    for (int i = 0; i < cuda_device_count(); ++i) devices.push_back(Device::cuda(i));
  }
  const std::vector<DType> dtypes =
      options.dtypes.empty() ? std::vector<DType>{DType::f32, DType::bf16, DType::f64} : options.dtypes;
  auto wanted = [&](const std::string& op) {
    return options.only_ops.empty() ||
           std::find(options.only_ops.begin(), options.only_ops.end(), op) != options.only_ops.end();
  };

  // One cell per (entry, device, dtype), in table order; entries only the cases name come last.
  std::vector<std::string> ops;
  for (const backend::OpEntry* op : backend::ops())
    if (wanted(op->name())) ops.push_back(op->name());
  for (const ConformanceCase& c : cases)
    for (const std::string& op : c.ops)
      if (wanted(op) && std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  using Key = std::tuple<std::string, std::string, DType>;
  std::map<Key, ConformanceCell> cells;
  auto cell_of = [&](const std::string& op, Device device, DType dtype) -> ConformanceCell& {
    ConformanceCell& cell = cells[{op, device.to_string(), dtype}];
    cell.op = op;
    cell.device = device;
    cell.dtype = dtype;
    return cell;
  };

  for (const ConformanceCase& c : cases) {
    if (std::none_of(c.ops.begin(), c.ops.end(), wanted)) continue;
    CaseResult reference;
    std::string reference_error;
    if (!c.reference_in_tested_dtype) {
      try {
        reference = run_case(c, DType::f64, Device::cpu());
      } catch (const std::exception& e) {
        reference_error = e.what();
      }
    }
    for (Device device : devices) {
      for (DType dtype : dtypes) {
        const bool is_reference = device.is_cpu() && (dtype == DType::f64 || c.reference_in_tested_dtype);
        if (is_reference) {
          for (const std::string& op : c.ops)
            if (wanted(op))
              fold(cell_of(op, device, dtype),
                   reference_error.empty() ? ConformanceStatus::reference : ConformanceStatus::fail, 0,
                   reference_error.empty() ? "" : c.name + ": the f64 reference failed: " + reference_error);
          continue;
        }
        Observation seen{device, {}};
        ConformanceStatus status = ConformanceStatus::pass;
        double worst = 0;
        std::string detail;
        try {
          const CaseResult ref =
              c.reference_in_tested_dtype ? run_case(c, dtype, Device::cpu()) : reference;
          if (!reference_error.empty()) throw Error("the f64 reference failed: " + reference_error);
          g_observation = &seen;
          backend::set_call_observer(observe);
          const CaseResult got = run_case(c, dtype, device);
          backend::set_call_observer(nullptr);
          g_observation = nullptr;
          for (std::size_t i = 0; i < ref.values.size(); ++i) {
            const double e = i < got.values.size() ? relative_error(got.values[i], ref.values[i])
                                                    : std::numeric_limits<double>::infinity();
            if (e > worst) {
              worst = e;
              detail = c.name + ": " + ref.labels[i] + " differs by " + format_error(e) + " (relative L2)";
            }
          }
          if (!(worst <= options.tolerance(dtype))) status = ConformanceStatus::fail;
        } catch (const NotImplementedError& e) {
          status = ConformanceStatus::unsupported;
          detail = c.name + ": " + e.message();
        } catch (const std::exception& e) {
          status = ConformanceStatus::fail;
          worst = std::numeric_limits<double>::infinity();
          detail = c.name + ": " + e.what();
        }
        backend::set_call_observer(nullptr);
        g_observation = nullptr;
        for (const std::string& op : c.ops) {
          if (!wanted(op)) continue;
          // a passing case only vouches for the entries it really ran on this device
          if (status == ConformanceStatus::pass && !seen.ops.count(op)) continue;
          // under the bf16 policy an entry that ran only in f32 is reported as such
          const bool f32_by_policy =
              dtype == DType::bf16 && status == ConformanceStatus::pass && !seen.reduced_ops.count(op);
          fold(cell_of(op, device, dtype), f32_by_policy ? ConformanceStatus::policy_f32 : status, worst, detail);
        }
      }
    }
  }

  ConformanceReport report;
  for (const std::string& op : ops)
    for (Device device : devices)
      for (DType dtype : dtypes) {
        ConformanceCell& cell = cell_of(op, device, dtype);
        if (cell.status == ConformanceStatus::fail ||
            (cell.status == ConformanceStatus::not_covered && device.is_cpu()))
          report.passed = false;
        report.cells.push_back(cell);
      }
  return report;
}

std::string ConformanceReport::table() const {
  // columns: (device, dtype) in first-seen order
  std::vector<std::pair<std::string, DType>> columns;
  std::vector<std::string> ops;
  for (const ConformanceCell& c : cells) {
    const std::pair<std::string, DType> col{c.device.to_string(), c.dtype};
    if (std::find(columns.begin(), columns.end(), col) == columns.end()) columns.push_back(col);
    if (std::find(ops.begin(), ops.end(), c.op) == ops.end()) ops.push_back(c.op);
  }
  std::size_t op_width = 2;
  for (const std::string& op : ops) op_width = std::max(op_width, op.size());
  constexpr int kColumn = 16;
  std::ostringstream s;
  s << std::left << std::setw(int(op_width) + 2) << "op";
  for (const auto& [device, dtype] : columns) s << std::setw(kColumn) << device + " " + std::string(dtype_name(dtype));
  s << "\n";
  std::vector<const ConformanceCell*> problems;
  for (const std::string& op : ops) {
    s << std::setw(int(op_width) + 2) << op;
    for (const auto& [device, dtype] : columns)
      for (const ConformanceCell& c : cells)
        if (c.op == op && c.device.to_string() == device && c.dtype == dtype) {
          s << std::setw(kColumn) << status_text(c);
          if (c.status == ConformanceStatus::fail || (c.status == ConformanceStatus::not_covered && c.device.is_cpu()))
            problems.push_back(&c);
        }
    s << "\n";
  }
  s << "\npass: every case of the entry within tolerance (worst relative L2 error shown) against the CPU f64\n"
       "result; reference: the CPU f64 kernels themselves; unsupported: no kernel of that backend takes the\n"
       "dtype (NotImplementedError); NO CASE: no conformance case checks the entry. The bf16 column runs f32\n"
       "inputs under the bf16 mixed-precision policy: entries with bf16 operands are checked against f64 at\n"
       "bf16 tolerance; \"f32 by policy\" entries ran (correctly) in f32, as the policy prescribes.\n";
  for (const ConformanceCell* c : problems)
    s << "\n" << c->op << " on " << c->device.to_string() << " " << dtype_name(c->dtype) << ": "
      << (c->detail.empty() ? "no conformance case checks this entry; add one" : c->detail);
  if (!problems.empty()) s << "\n";
  s << (passed ? "\nconformance: passed\n" : "\nconformance: FAILED\n");
  return s.str();
}

}  // namespace strata::testing
