// A sharded Hugging Face folder's model.safetensors.index.json, imported as import-hf does:
// the folder is the tiny Llama fixture (config.json and four shards), the index is the input.
#include "fuzz_support.h"
#include "strata/hf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  namespace fs = std::filesystem;
  static const fs::path folder = [] {
    const fs::path f = fuzz::scratch_folder() / "llama";
    fs::create_directories(f);
    for (const auto& entry : fs::directory_iterator(STRATA_FUZZ_LLAMA_FIXTURE))
      if (entry.path().extension() == ".safetensors" || entry.path().filename() == "config.json")
        fs::copy_file(entry.path(), f / entry.path().filename(), fs::copy_options::overwrite_existing);
    return f;
  }();
  fuzz::write_scratch("llama/model.safetensors.index.json", {reinterpret_cast<const char*>(data), size});
  fuzz::expect_strata_errors_only(
      [&] { import_hf(folder, fuzz::scratch_folder() / "imported", fuzz::registry(), fuzz::hermetic_options()); });
  return 0;
}
