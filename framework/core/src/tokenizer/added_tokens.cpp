#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/json_node.h"
#include "tokenizer/utf8.h"

namespace strata::tokenizer {
namespace {

bool is_word_char(char32_t c) {
  // Rust's char::is_alphanumeric or '_' as the `tokenizers` package's word test; for
  // non-ASCII characters any letter or digit: everything above U+007F that is not
  // whitespace or punctuation is close enough for single_word tokens.
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return !is_whitespace(c);
}

char32_t last_code_point(std::string_view text) {
  std::size_t at = text.size();
  while (at > 0 && (static_cast<unsigned char>(text[at - 1]) & 0xC0) == 0x80) --at;
  if (at > 0) --at;
  return next_code_point(text, at);
}

}  // namespace

AddedTokens::AddedTokens(const JsonNode& list) {
  if (list.value.is_null()) return;
  if (!list.value.is_array()) list.fail("expected a list of added tokens");
  for (std::size_t i = 0; i < list.value.size(); ++i) {
    const JsonNode t = list[i];
    AddedToken token{t["id"].integer(),
                     t["content"].string(),
                     t.boolean_or("single_word", false),
                     t.boolean_or("lstrip", false),
                     t.boolean_or("rstrip", false),
                     false,
                     t.boolean_or("special", false)};
    token.normalized = t.boolean_or("normalized", !token.special);
    if (token.id < 0) t["id"].fail("a token id cannot be negative");
    if (token.content.empty()) t["content"].fail("an added token cannot be empty");
    by_id_[token.id] = tokens_.size();
    tokens_.push_back(std::move(token));
  }
  for (std::size_t i = 0; i < tokens_.size(); ++i)
    by_first_byte_[tokens_[i].normalized][static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
  for (auto& table : by_first_byte_)
    for (auto& [byte, indices] : table)
      std::stable_sort(indices.begin(), indices.end(),
                       [&](std::size_t a, std::size_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
}

std::vector<Segment> AddedTokens::split(std::string_view text, bool normalized) const {
  const auto& table = by_first_byte_[normalized];
  std::vector<Segment> out;
  std::size_t plain_from = 0;  // start of the text not yet covered by a segment
  for (std::size_t at = 0; at < text.size();) {
    const auto candidates = table.find(static_cast<unsigned char>(text[at]));
    const AddedToken* found = nullptr;
    if (candidates != table.end()) {
      for (std::size_t index : candidates->second) {
        const AddedToken& t = tokens_[index];
        if (text.compare(at, t.content.size(), t.content) != 0) continue;
        if (t.single_word) {
          const std::size_t stop = at + t.content.size();
          const bool space_before = at == 0 || !is_word_char(last_code_point(text.substr(0, at)));
          std::size_t next = stop;
          const bool space_after = stop == text.size() || !is_word_char(next_code_point(text, next));
          if (!space_before || !space_after) continue;
        }
        found = &t;
        break;
      }
    }
    if (!found) {
      at += utf8_length(static_cast<unsigned char>(text[at]));
      continue;
    }
    std::size_t begin = at, end = at + found->content.size();
    if (found->lstrip) {  // the token takes the whitespace before it
      while (begin > plain_from) {
        std::size_t prev = begin - 1;
        while (prev > plain_from && (static_cast<unsigned char>(text[prev]) & 0xC0) == 0x80) --prev;
        std::size_t probe = prev;
        if (!is_whitespace(next_code_point(text, probe))) break;
        begin = prev;
      }
    }
    if (found->rstrip) {  // ... and the whitespace after it
      for (std::size_t next = end; end < text.size(); end = next)
        if (!is_whitespace(next_code_point(text, next))) break;
    }
    if (begin > plain_from) out.push_back({plain_from, begin, -1});
    out.push_back({begin, end, found->id});
    plain_from = at = end;
  }
  if (plain_from < text.size()) out.push_back({plain_from, text.size(), -1});
  return out;
}

const AddedToken* AddedTokens::by_id(std::int64_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedTokens::by_content(std::string_view content) const {
  for (const AddedToken& t : tokens_)
    if (t.content == content) return &t;
  return nullptr;
}

std::int64_t AddedTokens::max_id() const {
  std::int64_t m = -1;
  for (const AddedToken& t : tokens_) m = std::max(m, t.id);
  return m;
}

}  // namespace strata::tokenizer
