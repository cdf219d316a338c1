#pragma once
// Tokenizer patterns (pre-tokenizer splits, replace normalizers) through PCRE2, in UTF
// and Unicode-property mode as the `tokenizers` package's Oniguruma patterns behave.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::tokenizer {

class Regex {
 public:
  // Throws ValueError with PCRE2's message and the offset in the pattern.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Every non-overlapping match, left to right: [begin, end) byte offsets.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8
};

// A Split/Replace "pattern" of tokenizer.json: {"Regex": "..."} or {"String": "..."}; a
// string pattern matches literally.
class Pattern {
 public:
  static Pattern literal(std::string text);
  static Pattern regex(const std::string& pattern);

  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::string_view text) const;

 private:
  std::string literal_;
  std::shared_ptr<Regex> regex_;
};

// `text` with every match of `pattern` replaced by `content`.
std::string replace_all(const Pattern& pattern, std::string_view text, const std::string& content);

struct JsonNode;

// {"Regex": "..."} or {"String": "..."}; a bad pattern is refused at its JSON path.
Pattern pattern_from_json(const JsonNode& node);

}  // namespace strata::tokenizer
