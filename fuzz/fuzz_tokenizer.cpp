// Tokenizers on hostile input. The first byte chooses:
//   even: the rest is a tokenizer.json, loaded (refused by strata errors only) and, when it
//         loads, run on a fixed multilingual text and back;
//   odd:  the rest is text for the fixture tokenizers: anything not UTF-8 is refused, and
//         for the byte-level ones without a normalizer (GPT-2, Llama 3) decoding gives back
//         exactly the text that was encoded. (Qwen2's NFC and Llama 2's dummy prefix after
//         special tokens change text by design, as in the tokenizers package.)
#include <cstdlib>
#include <memory>

#include "fuzz_support.h"
#include "strata/tokenizer.h"

namespace {

// The first two keep every byte of any UTF-8 text.
const std::vector<std::unique_ptr<strata::Tokenizer>>& fixture_tokenizers() {
  static auto* list = [] {
    auto* l = new std::vector<std::unique_ptr<strata::Tokenizer>>;
    for (const char* name : {"gpt2", "llama3", "qwen2", "llama2"})
      l->push_back(strata::load_tokenizer(std::filesystem::path(STRATA_FUZZ_TOKENIZER_FIXTURES) / name));
    return l;
  }();
  return *list;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    const auto file = fuzz::write_scratch("tokenizer.json", rest);
    fuzz::expect_strata_errors_only([&] {
      const auto tokenizer = load_tokenizer(file);
      const auto ids = tokenizer->encode("Grüße, 世界! 👍🏽 <|im_end|>  tabs\t\tand\r\nlines 12345", true);
      (void)tokenizer->decode(ids, false);
      (void)tokenizer->vocabulary();
    });
    return 0;
  }
  const bool utf8 = !invalid_utf8_offset(rest).has_value();
  const auto& tokenizers = fixture_tokenizers();
  for (std::size_t i = 0; i < tokenizers.size(); ++i) {
    try {
      const auto ids = tokenizers[i]->encode(rest, false);
      if (!utf8) std::abort();  // text that is not UTF-8 must be refused
      const std::string back = tokenizers[i]->decode(ids, false);
      if (i < 2 && back != rest) std::abort();
    } catch (const ValueError&) {
      if (utf8) std::abort();
    }
  }
  return 0;
}
