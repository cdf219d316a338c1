#include "strata/memory_guard.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "strata/memory_plan.h"
#include "strata/model_plan.h"

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

std::string available_source() {
  return std::getenv("STRATA_MEMORY_AVAILABLE") ? "STRATA_MEMORY_AVAILABLE" : "free memory and cgroup limit";
}

[[noreturn]] void refuse(const std::string& what, std::int64_t needed, std::int64_t available, const std::string& detail) {
  throw InsufficientMemoryError(
      what + " needs about " + format_bytes(double(needed)) + " (" + detail + "), but only " +
          format_bytes(double(available)) + " is available (" + available_source() + ")",
      "make the model, batch or sequence smaller (strata inspect FILE --memory SIZE shows what fits), or pass "
      "--no-memory-check to try anyway");
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
  const std::int64_t available = available_memory_bytes();
  if (available <= 0 || !e.has_task()) return;
  MemoryQuery q;
  q.budget_bytes = available;
  q.batch = e.train.integer("batch_size");
  q.seq_len = plan_model(e, registry, PlanQuery{}).dims.max_seq_len;
  if (q.seq_len < 1) return;  // a task without a fixed length: nothing to plan with
  q.context = 1;
  q.dtype = e.train.string("precision") == "bf16" ? "bf16" : "f32";
  const MemoryPlan plan = plan_memory(e, registry, q);
  if (plan.activations_known && plan.train_bytes() > available)
    refuse("training " + std::to_string(plan.params) + " parameters at batch " + std::to_string(q.batch) + " x " +
               std::to_string(q.seq_len) + " tokens",
           plan.train_bytes(), available,
           format_bytes(double(plan.train_state_bytes)) + " weights, gradients and optimizer state, " +
               format_bytes(double(plan.activation_bytes + plan.workspace_bytes)) + " activations");
}

void require_decoding_fits(const Experiment& e, const ComponentRegistry& registry, const std::string& dtype,
                           std::int64_t batch, std::int64_t context) {
  const std::int64_t available = available_memory_bytes();
  if (available <= 0) return;
  MemoryQuery q;
  q.budget_bytes = available;
  q.batch = std::max<std::int64_t>(batch, 1);
  q.seq_len = 1;
  q.context = std::max<std::int64_t>(context, 1);
  q.dtype = dtype;
  const MemoryPlan plan = plan_memory(e, registry, q);
  const std::int64_t needed = plan.weights_bytes + (context > 0 && plan.cache_known ? plan.cache_bytes : 0);
  if (needed > available)
    refuse("loading " + std::to_string(plan.params) + " parameters in " + dtype +
               (context > 0 ? " with a cache for " + std::to_string(q.batch) + " x " + std::to_string(context) + " tokens"
                            : std::string()),
           needed, available,
           format_bytes(double(plan.weights_bytes)) + " weights" +
               (context > 0 ? ", " + format_bytes(double(plan.cache_bytes)) + " cache" : std::string()));
}

}  // namespace strata
