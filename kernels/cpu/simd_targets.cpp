#include "kernels/cpu/simd_targets.h"

#include <hwy/targets.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace strata::kernels::cpu::simd {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// What this CPU runs, best first (Highway orders targets by bit, lower bits being better),
// read once with no target forced: SupportedAndGeneratedTargets reports only the forced one.
const std::vector<std::int64_t>& cpu_targets() {
  static const std::vector<std::int64_t> targets = [] {
    hwy::SetSupportedTargetsForTest(0);
    return hwy::SupportedAndGeneratedTargets();
  }();
  return targets;
}

}  // namespace

std::vector<std::string> available_targets() {
  std::vector<std::string> names;
  for (const std::int64_t target : cpu_targets()) names.emplace_back(hwy::TargetName(target));
  return names;
}

std::string active_target() {
  const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? std::string("none") : std::string(hwy::TargetName(targets.front()));
}

void select_target(const std::string& name) {
  if (lower(name) == "auto") {
    hwy::SetSupportedTargetsForTest(0);  // 0: back to what the CPU reports
    return;
  }
  for (const std::int64_t target : cpu_targets())
    if (lower(hwy::TargetName(target)) == lower(name)) {
      hwy::SetSupportedTargetsForTest(target);
      return;
    }
  throw std::invalid_argument("SIMD target '" + name + "' is not available on this CPU in this build; available: " +
                              joined(available_targets()) + " (or auto)");
}

void select_target_from_environment() {
  const char* value = std::getenv("STRATA_SIMD");
  if (!value || !*value) return;
  try {
    select_target(value);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("STRATA_SIMD: ") + e.what());
  }
}

}  // namespace strata::kernels::cpu::simd
