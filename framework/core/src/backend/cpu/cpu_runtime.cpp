// The CPU backend's runtime settings: threads (OpenMP and BLAS together) and the BLAS build.
#include "backend/cpu/cpu_backend.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/simd_targets.h"
#include "strata/error.h"

#include <stdexcept>

namespace strata::cpu_backend {

void set_threads(int threads) { kernels::cpu::set_cpu_threads(threads); }
int threads() { return kernels::cpu::cpu_threads(); }
std::string blas_description() { return kernels::cpu::blas_description(); }

std::string simd_target() { return kernels::cpu::simd::active_target(); }
std::vector<std::string> simd_targets() { return kernels::cpu::simd::available_targets(); }

namespace {
// kernels::cpu::simd reports a bad choice as std::invalid_argument; the core's callers get a
// DeviceError with `hint`.
template <class Fn>
void as_device_error(Fn fn, const char* hint) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    throw DeviceError(e.what(), hint);
  }
}
}  // namespace

void select_simd_target(const std::string& name) {
  as_device_error([&] { kernels::cpu::simd::select_target(name); }, "choose one of them, or auto for the best");
}

void select_simd_target_from_environment() {
  as_device_error([] { kernels::cpu::simd::select_target_from_environment(); },
                  "set STRATA_SIMD to one of them, or unset it for the best");
}

}  // namespace strata::cpu_backend
