#include "strata/memory_guard.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "strata/memory_plan.h"
#include "strata/model_plan.h"
#include "strata/run.h"

namespace strata {

InsufficientMemoryError::~InsufficientMemoryError() = default;

namespace {

// A number from a one-line file (cgroup files); -1 when absent or "max".
std::int64_t read_number_file(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return -1;
  }
}

std::int64_t meminfo_available() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  std::int64_t kib = 0;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return -1;
}

// What the cgroup still allows, -1 without a limit.
std::int64_t cgroup_available() {
  if (const std::int64_t limit = read_number_file("/sys/fs/cgroup/memory.max"); limit > 0) {
    const std::int64_t used = read_number_file("/sys/fs/cgroup/memory.current");
    return limit - std::max<std::int64_t>(used, 0);
  }
  const std::int64_t limit = read_number_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (limit > 0 && limit < (std::int64_t(1) << 60)) {  // v1 writes a huge number for "no limit"
    const std::int64_t used = read_number_file("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    return limit - std::max<std::int64_t>(used, 0);
  }
  return -1;
}

std::string host_source() {
  return std::getenv("STRATA_MEMORY_AVAILABLE") ? "STRATA_MEMORY_AVAILABLE" : "free memory and cgroup limit";
}

// The memory a plan must fit in, and where the number comes from (for the message).
struct Budget {
  std::int64_t bytes = 0;  // 0: unknown, nothing is refused
  std::string source;
};

Budget host_budget() { return {available_memory_bytes(), host_source()}; }

// A GPU's free memory. On an integrated GPU (GB10) it is the host's memory too: the smaller
// of the two readings, one pool counted once.
Budget gpu_budget(Device device, const CudaMemory& memory) {
  Budget b{memory.free_bytes, device.to_string() + "'s free memory"};
  if (!memory.shares_host_memory) return b;
  const Budget host = host_budget();
  if (host.bytes > 0 && host.bytes < b.bytes) b = host;
  b.source += ", one pool shared by " + device.to_string() + " and the CPU";
  return b;
}

// The budget of the device that runs the work (a GPU's, or the host's), and the host's for
// the weights a GPU run builds on the CPU first (unknown, i.e. unchecked, where the work
// runs on the host or on an integrated GPU, whose pool the first budget already is).
struct Budgets {
  Budget device, host;
};
Budgets budgets_for(Device device) {
  if (!device.is_cuda()) return {host_budget(), {}};
  const CudaMemory gpu = cuda_memory(device);
  return {gpu_budget(device, gpu), gpu.shares_host_memory ? Budget{} : host_budget()};
}

[[noreturn]] void refuse(const std::string& what, std::int64_t needed, const Budget& budget, const std::string& detail) {
  throw InsufficientMemoryError(
      what + " needs about " + format_bytes(double(needed)) + " (" + detail + "), but only " +
          format_bytes(double(budget.bytes)) + " is available (" + budget.source + ")",
      "make the model, batch or sequence smaller (strata inspect FILE --memory SIZE shows what fits), or pass "
      "--no-memory-check to try anyway");
}

// Refuses `needed` bytes beyond a known budget.
void require(const std::string& what, std::int64_t needed, const Budget& budget, const std::string& detail) {
  if (budget.bytes > 0 && needed > budget.bytes) refuse(what, needed, budget, detail);
}

}  // namespace

std::int64_t available_memory_bytes() {
  if (const char* given = std::getenv("STRATA_MEMORY_AVAILABLE"); given && *given) {
    try {
      return parse_memory_size(given);
    } catch (const ValueError& e) {
      throw ValueError("STRATA_MEMORY_AVAILABLE: " + e.message(), e.hint());
    }
  }
  const std::int64_t free = meminfo_available(), cgroup = cgroup_available();
  if (free < 0) return cgroup < 0 ? 0 : cgroup;
  return cgroup < 0 ? free : std::min(free, cgroup);
}

void require_training_fits(const Experiment& e, const ComponentRegistry& registry) {
  if (!e.has_task()) return;
  // The whole step lives on the training device. A GPU run builds the model on the CPU
  // first (weights only), then moves it parameter by parameter: the host needs the
  // weights, the device the step; on an integrated GPU both are the one pool, where the
  // step, the larger, is what must fit.
  const Device device = training_device(e);  // a config error at the key if this machine lacks it
  const auto [budget, host] = budgets_for(device);
  if (budget.bytes <= 0 && host.bytes <= 0) return;
  MemoryQuery q;
  q.budget_bytes = budget.bytes;
  q.batch = e.train.integer("batch_size");
  q.seq_len = plan_model(e, registry, PlanQuery{}).dims.max_seq_len;
  if (q.seq_len < 1) return;  // a task without a fixed length: nothing to plan with
  q.context = 1;
  q.dtype = e.train.string("precision") == "bf16" ? "bf16" : "f32";
  const MemoryPlan plan = plan_memory(e, registry, q);
  const std::string what = "training " + std::to_string(plan.params) + " parameters at batch " +
                           std::to_string(q.batch) + " x " + std::to_string(q.seq_len) + " tokens";
  if (plan.activations_known)
    require(what + (device.is_cuda() ? " on " + device.to_string() : std::string()), plan.train_bytes(), budget,
            format_bytes(double(plan.train_state_bytes)) + " weights, gradients and optimizer state, " +
                format_bytes(double(plan.activation_bytes + plan.workspace_bytes)) + " activations");
  require("building the model on the CPU before it moves to " + device.to_string(), plan.weights_bytes, host,
          format_bytes(double(plan.weights_bytes)) + " weights");
}

void require_decoding_fits(const Experiment& e, const ComponentRegistry& registry, const std::string& dtype,
                           std::int64_t batch, std::int64_t context, Device device) {
  // On a GPU the weights and the cache live there (the host holds the weights only while
  // they load, on a discrete GPU a copy of the same size: checked first).
  const auto [budget, host] = budgets_for(device);
  if (budget.bytes <= 0 && host.bytes <= 0) return;
  MemoryQuery q;
  q.budget_bytes = budget.bytes;
  q.batch = std::max<std::int64_t>(batch, 1);
  q.seq_len = 1;
  q.context = std::max<std::int64_t>(context, 1);
  q.dtype = dtype;
  const MemoryPlan plan = plan_memory(e, registry, q);
  const std::int64_t needed = plan.weights_bytes + (context > 0 && plan.cache_known ? plan.cache_bytes : 0);
  const std::string what = "loading " + std::to_string(plan.params) + " parameters in " + dtype;
  require(what + " on the CPU before they move to " + device.to_string(), plan.weights_bytes, host,
          format_bytes(double(plan.weights_bytes)) + " weights");
  require(what +
              (context > 0 ? " with a cache for " + std::to_string(q.batch) + " x " + std::to_string(context) + " tokens"
                           : std::string()) +
              (device.is_cuda() ? " on " + device.to_string() : std::string()),
          needed, budget,
          format_bytes(double(plan.weights_bytes)) + " weights" +
              (context > 0 ? ", " + format_bytes(double(plan.cache_bytes)) + " cache" : std::string()));
}

}  // namespace strata
