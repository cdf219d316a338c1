#pragma once
// Runs a test body once on every SIMD instruction set this build has and this CPU can run
// (strata/runtime.h: cpu_simd_targets), so that each compiled path of the CPU kernels is
// tested, not only the one dispatch picks. The best set is restored afterwards.
#include <string>

#include "catch.h"
#include "strata/runtime.h"

namespace strata::testing {

template <class Body>
void for_each_simd_target(Body&& body) {
  for (const std::string& target : cpu_simd_targets()) {
    INFO("SIMD target " << target);
    set_cpu_simd_target(target);
    struct Restore {
      ~Restore() { set_cpu_simd_target("auto"); }
    } restore;
    body();
  }
}

}  // namespace strata::testing
