#include "strata/precision.h"

#include <string>

#include "strata/error.h"

namespace strata {

namespace {
// Per thread, like autograd's grad mode: a guard on one thread does not change another's.
thread_local Precision current = Precision::f32;
}  // namespace

std::string_view precision_name(Precision p) {
  return p == Precision::bf16 ? "bf16" : p == Precision::tf32 ? "tf32" : "f32";
}

Precision parse_precision(std::string_view name) {
  if (name == "f32") return Precision::f32;
  if (name == "bf16") return Precision::bf16;
  if (name == "tf32") return Precision::tf32;
  throw ValueError("unknown precision '" + std::string(name) + "'", "use \"f32\", \"bf16\" or \"tf32\"");
}

Precision compute_precision() { return current; }

PrecisionGuard::PrecisionGuard(Precision precision) : previous_(current) { current = precision; }
PrecisionGuard::~PrecisionGuard() { current = previous_; }

}  // namespace strata
