// The safetensors reader (checkpoints, Hugging Face weights, --tokens files): any bytes.
#include "fuzz_support.h"
#include "strata/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const auto file = fuzz::write_scratch("input.safetensors", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_strata_errors_only([&] {
    const safetensors::Reader reader(file);
    (void)reader.has_digests();
    for (const safetensors::TensorInfo& info : reader.tensors())
      fuzz::expect_strata_errors_only([&] { (void)reader.load(info.name); });
  });
  return 0;
}
