#pragma once
// Which SIMD instruction set the CPU kernels run with. Every SIMD kernel is compiled once
// per instruction set of the architecture (Google Highway: x86-64 SSE4, AVX2, AVX3 =
// AVX-512 F/BW/DQ/VL; ARM64 NEON, SVE, SVE2, SVE2_128; EMU128 = portable C++ everywhere)
// and the best one this CPU supports is chosen at the first call.
#include <string>
#include <vector>

namespace strata::kernels::cpu::simd {

// The instruction set in use, by Highway's name ("AVX3", "AVX2", "NEON", "SVE2_128", ...).
std::string active_target();

// The instruction sets compiled into this build that this CPU can run, best first.
std::vector<std::string> available_targets();

// Runs every kernel with `name` (case-insensitive, one of available_targets(), or "auto"
// for the best) from now on. For A/B timing and for testing each path; not thread-safe:
// call it before any kernel runs or between runs. Throws std::invalid_argument naming the
// available targets when `name` is unknown or this CPU cannot run it.
void select_target(const std::string& name);

// Applies the STRATA_SIMD environment variable (a target name or "auto") when it is set;
// the same errors as select_target, with the variable named.
void select_target_from_environment();

}  // namespace strata::kernels::cpu::simd
