// strata backends: the backend table, and (--check) the conformance suite over it.
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "strata/backend.h"
#include "strata/runtime.h"
#include "strata/testing/conformance.h"

namespace strata::cli {

namespace {

DType parse_dtype_name(const std::string& name) {
  return name == "f64" ? DType::f64 : name == "bf16" ? DType::bf16 : DType::f32;
}

void print_table() {
  std::cout << "cuda: " << (built_with_cuda() ? "built, " + std::to_string(cuda_device_count()) + " device(s) visible"
                                              : std::string("not built (docs/cuda.md)"))
            << "\n";
  std::cout << "cpu kernels: " << cpu_simd_target() << " SIMD (this CPU runs:";
  for (const std::string& t : cpu_simd_targets()) std::cout << " " << t;
  std::cout << "; STRATA_SIMD=NAME picks one)\n";
  std::cout << "backend table (op: backend [device] dtypes; later kernels are tried first):\n";
  for (const backend::OpEntry* op : backend::ops()) {
    std::cout << "  " << op->name() << ":";
    for (const backend::KernelInfo& k : op->kernels()) {
      std::cout << "  " << k.backend;
      if (k.backend != backend::device_type_name(k.device))
        std::cout << " [" << backend::device_type_name(k.device) << "]";
      std::cout << " (";
      for (std::size_t i = 0; i < k.dtypes.size(); ++i) std::cout << (i ? " " : "") << dtype_name(k.dtypes[i]);
      std::cout << (k.has_limits ? ", limited)" : ")");
    }
    std::cout << "\n";
  }
}

}  // namespace

int backends_command(const BackendsOptions& options) {
  // Plugins register kernels for their own ops: load them so that the listing shows those.
  ComponentRegistry registry;
  register_builtin_components(registry);
  load_plugins(registry, options.common.plugin_search());
  if (!options.check) {
    print_table();
    return kOk;
  }
  testing::ConformanceOptions conformance;
  conformance.only_ops = options.ops;
  for (const std::string& d : options.dtypes) conformance.dtypes.push_back(parse_dtype_name(d));
  const testing::ConformanceReport report = run_conformance(testing::all_conformance_cases(), conformance);
  std::cout << report.table();
  return report.passed ? kOk : kChecksFailed;
}

}  // namespace strata::cli
