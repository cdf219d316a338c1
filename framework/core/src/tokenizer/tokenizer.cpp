#include "strata/tokenizer.h"

#include "strata/error.h"
#include "tokenizer/hf_tokenizer.h"

namespace strata {

namespace fs = std::filesystem;

std::optional<fs::path> find_tokenizer_file(const fs::path& folder) {
  std::error_code ec;
  for (const char* name : {"tokenizer.json", "tokenizer.model"})
    if (fs::is_regular_file(folder / name, ec)) return folder / name;
  return std::nullopt;
}

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path) {
  std::error_code ec;
  fs::path file = path;
  if (fs::is_directory(path, ec)) {
    const auto found = find_tokenizer_file(path);
    if (!found)
      throw FileFormatError(path.string() + " holds no tokenizer.json or tokenizer.model",
                            "copy the model's tokenizer file there, or name the file itself");
    file = *found;
  } else if (!fs::is_regular_file(path, ec)) {
    throw FileFormatError("tokenizer " + path.string() + " does not exist",
                          "give a tokenizer.json, a tokenizer.model or a folder holding one");
  }
  if (file.extension() == ".json") return tokenizer::read_hf_tokenizer(file);
  if (file.extension() == ".model") return tokenizer::read_sentencepiece(file);
  throw FileFormatError(file.string() + ": not a tokenizer file (expected a .json or a .model)",
                        "give a Hugging Face tokenizer.json or a SentencePiece tokenizer.model");
}

}  // namespace strata

namespace strata {
namespace {

class ByteTokenizer : public Tokenizer {
 public:
  std::vector<std::int64_t> encode(std::string_view text, bool) const override {
    return std::vector<std::int64_t>(reinterpret_cast<const unsigned char*>(text.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()) + text.size());
  }
  std::string decode(const std::vector<std::int64_t>& ids, bool) const override {
    tokenizer::require_ids_in_range(ids, 256);
    std::string text;
    for (std::int64_t id : ids) text.push_back(char(id));
    return text;
  }
  std::int64_t vocab_size() const override { return 256; }
  std::optional<std::int64_t> token_id(std::string_view token) const override {
    if (token.size() != 1) return std::nullopt;
    return static_cast<unsigned char>(token[0]);
  }
  std::string describe() const override { return "bytes (256 tokens)"; }
  TokenizerVocabulary vocabulary() const override { return {}; }
  const std::filesystem::path& source() const override { return source_; }

 private:
  std::filesystem::path source_;
};

}  // namespace

std::unique_ptr<Tokenizer> byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

}  // namespace strata
