// Token ids from the command line (--tokens, --prompt): the first byte chooses a literal list
// ("5 3 9; 1 2 3") or a text file of ids; the rest is the list or the file.
#include "cli/token_input.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  fuzz::expect_strata_errors_only([&] {
    if (data[0] & 1)
      (void)cli::read_token_ids(fuzz::write_scratch("ids.txt", text).string(), 1000, "--tokens");
    else
      (void)cli::read_token_ids(text, 1000, "--tokens");
  });
  return 0;
}
