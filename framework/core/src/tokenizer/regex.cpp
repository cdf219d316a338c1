#include "tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "strata/error.h"
#include "tokenizer/json_node.h"

namespace strata::tokenizer {

Regex::Regex(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                                   &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw ValueError("pattern /" + pattern + "/ does not compile at offset " + std::to_string(offset) + ": " +
                         reinterpret_cast<const char*>(message),
                     "tokenizer patterns are Oniguruma/PCRE regular expressions");
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // plain matching when JIT is unavailable
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<std::pair<std::size_t, std::size_t>> Regex::find_all(std::string_view text) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  std::size_t at = 0;
  while (at <= text.size()) {
    // The text was checked to be valid UTF-8 on entry to the tokenizer.
    const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at, PCRE2_NO_UTF_CHECK,
                               data, nullptr);
    if (rc < 0) break;  // PCRE2_ERROR_NOMATCH (or a resource limit: no further matches)
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    const std::size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      at = end;
    } else {  // an empty match: step over one character
      if (begin >= text.size()) break;
      std::size_t next = begin + 1;
      while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
      at = next;
    }
  }
  pcre2_match_data_free(data);
  return matches;
}

Pattern Pattern::literal(std::string text) {
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

Pattern Pattern::regex(const std::string& pattern) {
  Pattern p;
  p.regex_ = std::make_shared<Regex>(pattern);
  return p;
}

std::vector<std::pair<std::size_t, std::size_t>> Pattern::find_all(std::string_view text) const {
  if (regex_) return regex_->find_all(text);
  std::vector<std::pair<std::size_t, std::size_t>> matches;
  if (literal_.empty()) return matches;
  for (std::size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
    matches.emplace_back(at, at + literal_.size());
  return matches;
}

std::string replace_all(const Pattern& pattern, std::string_view text, const std::string& content) {
  std::string out;
  std::size_t last = 0;
  for (const auto& [begin, end] : pattern.find_all(text)) {
    out.append(text.substr(last, begin - last));
    out += content;
    last = end;
  }
  out.append(text.substr(last));
  return out;
}

Pattern pattern_from_json(const JsonNode& node) {
  if (node.has("String")) return Pattern::literal(node["String"].string());
  if (!node.has("Regex")) node.fail("a pattern is {\"String\": ...} or {\"Regex\": ...}");
  try {
    return Pattern::regex(node["Regex"].string());
  } catch (const ValueError& e) {
    node.fail(e.what());
  }
}

}  // namespace strata::tokenizer
