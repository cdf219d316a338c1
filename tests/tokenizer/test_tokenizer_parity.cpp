// Tokenizers equal the reference packages: tests/fixtures/tokenizers/<family>/expected.json
// holds the ids `tokenizers` (tokenizer.json) and `sentencepiece` (tokenizer.model) give on
// a multilingual corpus with emoji, whitespace runs and special tokens in the text
// (make_tokenizer_fixtures.py).
#include <fstream>
#include <nlohmann/json.hpp>

#include "catch.h"
#include "strata/tokenizer.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = STRATA_TOKENIZER_FIXTURES_DIR;

nlohmann::json expected(const std::string& family) {
  std::ifstream in(kFixtures / family / "expected.json");
  return nlohmann::json::parse(in);
}

std::string shown(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += std::to_string(id) + " ";
  return s;
}

void check_family(const std::string& family, const std::string& file) {
  const auto tokenizer = load_tokenizer(kFixtures / family / file);
  int checked = 0;
  for (const auto& row : expected(family)) {
    const std::string text = row["text"].get<std::string>();
    INFO(family << ": \"" << text << "\"");
    const auto ids = tokenizer->encode(text, false);
    const auto want = row["ids"].get<std::vector<std::int64_t>>();
    INFO("strata:    " << shown(ids) << "\nreference: " << shown(want));
    CHECK(ids == want);
    const auto with_special = tokenizer->encode(text, true);
    CHECK(with_special == row["ids_special"].get<std::vector<std::int64_t>>());
    CHECK(tokenizer->decode(with_special, false) == row["decoded"].get<std::string>());
    CHECK(tokenizer->decode(with_special, true) == row["decoded_skip"].get<std::string>());
    ++checked;
  }
  CHECK(checked >= 25);
}

}  // namespace

TEST_CASE("GPT-2 byte-level BPE equals tokenizers") { check_family("gpt2", "tokenizer.json"); }

TEST_CASE("Llama 3 style BPE (regex split, ignore_merges, BOS template) equals tokenizers") {
  check_family("llama3", "tokenizer.json");
}

TEST_CASE("Qwen2 style BPE (NFC, regex split, added tokens) equals tokenizers") { check_family("qwen2", "tokenizer.json"); }

TEST_CASE("Llama 2 tokenizer.json (byte fallback, Prepend/Replace normalizer) equals tokenizers") {
  check_family("llama2", "tokenizer.json");
}

TEST_CASE("Metaspace tokenizer.json (prepend_scheme first) equals tokenizers") {
  check_family("metaspace", "tokenizer.json");
}

TEST_CASE("SentencePiece tokenizer.model equals sentencepiece") { check_family("sentencepiece", "tokenizer.model"); }

TEST_CASE("A folder's tokenizer: tokenizer.json first, then tokenizer.model") {
  CHECK(load_tokenizer(kFixtures / "gpt2")->source().filename() == "tokenizer.json");
  CHECK(load_tokenizer(kFixtures / "sentencepiece")->source().filename() == "tokenizer.model");
  CHECK(find_tokenizer_file(kFixtures) == std::nullopt);
}

TEST_CASE("Byte-level tokenizers decode what they encode, byte for byte") {
  for (const char* family : {"gpt2", "llama3"}) {
    const auto tokenizer = load_tokenizer(kFixtures / family);
    for (const auto& row : expected(family)) {
      const std::string text = row["text"].get<std::string>();
      CHECK(tokenizer->decode(tokenizer->encode(text, false), false) == text);
    }
  }
}

TEST_CASE("Token ids of special tokens and vocabulary sizes") {
  const auto qwen = load_tokenizer(kFixtures / "qwen2");
  REQUIRE(qwen->token_id("<|im_end|>").has_value());
  CHECK(qwen->decode({*qwen->token_id("<|im_end|>")}, false) == "<|im_end|>");
  CHECK(qwen->decode({*qwen->token_id("<|im_end|>")}, true).empty());
  CHECK(qwen->vocab_size() > *qwen->token_id("<think>"));
  CHECK_FALSE(qwen->token_id("not a token at all").has_value());
  const auto sp = load_tokenizer(kFixtures / "sentencepiece");
  CHECK(sp->vocab_size() == 1000);
  CHECK(sp->token_id("<s>") == std::optional<std::int64_t>(1));
}
