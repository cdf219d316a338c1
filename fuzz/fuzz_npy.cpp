// The .npy reader (token files): any bytes.
#include "fuzz_support.h"
#include "strata/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const auto file = fuzz::write_scratch("input.npy", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_strata_errors_only([&] { (void)read_npy(file); });
  return 0;
}
