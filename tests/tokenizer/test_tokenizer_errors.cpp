// Tokenizer files and inputs that cannot be used are refused by name, never approximated.
#include <fstream>
#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"
#include "strata/tokenizer.h"

using namespace strata;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const fs::path kFixtures = STRATA_TOKENIZER_FIXTURES_DIR;

nlohmann::json gpt2_json() {
  std::ifstream in(kFixtures / "gpt2" / "tokenizer.json");
  return nlohmann::json::parse(in);
}

fs::path write(const fs::path& folder, const std::string& name, const std::string& text) {
  fs::create_directories(folder);
  std::ofstream(folder / name, std::ios::binary) << text;
  return folder / name;
}

}  // namespace

TEST_CASE("Text that is not UTF-8 is refused with the byte offset") {
  const auto tokenizer = load_tokenizer(kFixtures / "gpt2");
  CHECK_THROWS_WITH(tokenizer->encode("ok \xC3\x28 bad", false), Contains("not valid UTF-8 at byte 3"));
  CHECK_THROWS_WITH(load_tokenizer(kFixtures / "sentencepiece")->encode("\xFF", false), Contains("byte 0"));
  CHECK(invalid_utf8_offset("\xED\xA0\x80") == std::optional<std::size_t>(0));  // a surrogate
  CHECK(invalid_utf8_offset("caf\xC3\xA9 \xF0\x9F\x98\x80") == std::nullopt);
}

TEST_CASE("Ids outside the vocabulary are refused when decoding") {
  const auto tokenizer = load_tokenizer(kFixtures / "llama3");
  CHECK_THROWS_WITH(tokenizer->decode({5, tokenizer->vocab_size()}, false),
                    Contains("position 1") && Contains("outside"));
  CHECK_THROWS_AS(load_tokenizer(kFixtures / "sentencepiece")->decode({-1}, false), ValueError);
}

TEST_CASE("Unsupported tokenizer.json parts are refused at their JSON path") {
  const fs::path dir = test::fresh_temp_dir("tokenizer", "case0");
  auto json = gpt2_json();

  json["model"]["type"] = "WordPiece";
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", json.dump())),
                    Contains("model.type") && Contains("WordPiece"));

  json = gpt2_json();
  json["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers", {json["pre_tokenizer"], {{"type", "Digits"}, {"individual_digits", true}}}}};
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", json.dump())),
                    Contains("pre_tokenizer.pretokenizers[1]") && Contains("Digits"));

  json = gpt2_json();
  json["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}};
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", json.dump())), Contains("normalizer"));

  json = gpt2_json();
  json["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}};
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", json.dump())),
                    Contains("decoder") && Contains("WordPiece"));

  json = gpt2_json();
  json["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", json.dump())),
                    Contains("pre_tokenizer.pattern") && Contains("does not compile"));

  json = gpt2_json();
  json["model"]["dropout"] = 0.1;
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", json.dump())), Contains("dropout"));
}

TEST_CASE("Broken tokenizer files are refused naming the file") {
  const fs::path dir = test::fresh_temp_dir("tokenizer", "case1");
  auto json = gpt2_json();
  json["model"]["merges"].push_back("Ġnot-a-token also-not");
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", json.dump())),
                    Contains("model.merges[") && Contains("not in the vocabulary"));

  const std::string text = gpt2_json().dump();
  CHECK_THROWS_WITH(load_tokenizer(write(dir, "tokenizer.json", text.substr(0, text.size() / 2))),
                    Contains("tokenizer.json") && Contains("not valid JSON"));
  CHECK_THROWS_WITH(load_tokenizer(write(dir / "sp", "tokenizer.model", "not a protobuf")),
                    Contains("tokenizer.model") && Contains("not a SentencePiece model"));
  CHECK_THROWS_WITH(load_tokenizer(dir / "missing"), Contains("does not exist"));
  fs::create_directories(dir / "empty");
  CHECK_THROWS_WITH(load_tokenizer(dir / "empty"), Contains("no tokenizer.json or tokenizer.model"));
}

TEST_CASE("A tokenizer.json number out of range is a file error, not a crash (fuzz_tokenizer finding)") {
  const fs::path dir = test::fresh_temp_dir("tokenizer", "number_range");
  // The fuzz input after its mode byte: a number whose exponent overflows a double.
  CHECK_THROWS_AS(load_tokenizer(write(dir, "tokenizer.json", "44e444<\x06i\xa2\xa2uen,iw|>")), FileFormatError);
  CHECK_THROWS_AS(load_tokenizer(write(dir, "tokenizer.json", "{\"model\": {\"dropout\": \"x\", \"vocab\": {}, \"merges\": []}}")),
                  FileFormatError);
}
