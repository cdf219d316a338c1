#pragma once
// tokenizer.json "added_tokens": tokens matched in the text before the model sees it
// (special tokens such as <|im_start|>, and added words), with their single_word,
// lstrip, rstrip and normalized flags, as the `tokenizers` package's AddedVocabulary.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strata::tokenizer {

struct JsonNode;

struct AddedToken {
  std::int64_t id;
  std::string content;
  bool single_word, lstrip, rstrip, normalized, special;
};

// A stretch of text: either plain text (token < 0) or one added token.
struct Segment {
  std::size_t begin, end;  // byte offsets in the text that was split
  std::int64_t token = -1;
};

class AddedTokens {
 public:
  explicit AddedTokens(const JsonNode& list);

  // text -> segments covering it, the added tokens whose `normalized` flag equals
  // `normalized` matched leftmost-longest.
  std::vector<Segment> split(std::string_view text, bool normalized) const;

  const AddedToken* by_id(std::int64_t id) const;
  const AddedToken* by_content(std::string_view content) const;
  std::int64_t max_id() const;
  std::size_t size() const { return tokens_.size(); }

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<std::int64_t, std::size_t> by_id_;
  // first byte -> indices of tokens starting with it, longest first, per `normalized` flag
  std::unordered_map<unsigned char, std::vector<std::size_t>> by_first_byte_[2];
};

}  // namespace strata::tokenizer
