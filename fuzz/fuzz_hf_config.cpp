// A Hugging Face config.json, read as import-hf reads it: the architecture is looked up in
// the plugins' mappings and every key is honoured or refused; an experiment that comes out
// must load.
#include "fuzz_support.h"
#include "strata/hf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const auto file = fuzz::write_scratch("config.json", {reinterpret_cast<const char*>(data), size});
  ComponentRegistry& registry = fuzz::registry();
  std::string toml;
  fuzz::expect_strata_errors_only([&] { toml = hf_config_to_toml(file, registry); });
  if (!toml.empty())
    fuzz::expect_strata_errors_only(
        [&] { (void)Experiment::from_string(toml, "imported.toml", fuzz::hermetic_options(), registry); });
  return 0;
}
