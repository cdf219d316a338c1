#pragma once
// UTF-8 helpers of the tokenizers: code points <-> bytes, character boundaries.
#include <cstddef>
#include <string>
#include <string_view>

namespace strata::tokenizer {

// The byte length of the UTF-8 character starting with `lead` (1 for a stray byte).
inline std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

// Rust's char::is_whitespace: the Unicode White_Space property.
inline bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Appends code point `c` as UTF-8.
void append_utf8(std::string& out, char32_t c);

// The code point at `text[at]` (text is valid UTF-8); `at` moves past it.
char32_t next_code_point(std::string_view text, std::size_t& at);

// Valid UTF-8 stays; every invalid sequence becomes U+FFFD, as Rust's from_utf8_lossy.
std::string utf8_lossy(std::string_view bytes);

}  // namespace strata::tokenizer
