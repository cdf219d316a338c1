#include "tokenizer/utf8.h"

#include <optional>

#include "strata/tokenizer.h"

namespace strata::tokenizer {

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

char32_t next_code_point(std::string_view text, std::size_t& at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  const std::size_t n = utf8_length(lead);
  char32_t c = n == 1 ? lead : n == 2 ? (lead & 0x1F) : n == 3 ? (lead & 0x0F) : (lead & 0x07);
  for (std::size_t i = 1; i < n && at + i < text.size(); ++i) c = (c << 6) | (static_cast<unsigned char>(text[at + i]) & 0x3F);
  at += n;
  return c;
}

namespace {

// The length of the valid UTF-8 sequence at `at`, or 0 when it is invalid (overlong forms,
// surrogates and code points past U+10FFFF included).
std::size_t valid_sequence(std::string_view s, std::size_t at) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[at + i]); };
  const std::size_t left = s.size() - at;
  const unsigned char c0 = b(0);
  if (c0 < 0x80) return 1;
  const auto cont = [&](std::size_t i) { return i < left && (b(i) & 0xC0) == 0x80; };
  if (c0 >= 0xC2 && c0 <= 0xDF) return cont(1) ? 2 : 0;
  if (c0 >= 0xE0 && c0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c0 == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c0 == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c0 >= 0xF0 && c0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c0 == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c0 == 0xF4 && b(1) >= 0x90) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

// How many bytes from `at` Rust's from_utf8_lossy replaces by one U+FFFD: the longest
// prefix of a valid sequence (at least one byte).
std::size_t invalid_prefix(std::string_view s, std::size_t at) {
  const auto c0 = static_cast<unsigned char>(s[at]);
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c0 >= 0xC2 && c0 <= 0xDF) need = 1;
  else if (c0 >= 0xE0 && c0 <= 0xEF) {
    need = 2;
    if (c0 == 0xE0) lo = 0xA0;
    if (c0 == 0xED) hi = 0x9F;
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    need = 3;
    if (c0 == 0xF0) lo = 0x90;
    if (c0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  std::size_t used = 1;
  for (std::size_t i = 0; i < need && at + used < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[at + used]);
    if (c < (i == 0 ? lo : 0x80) || c > (i == 0 ? hi : 0xBF)) break;
    ++used;
  }
  return used;
}

}  // namespace

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t at = 0; at < bytes.size();) {
    if (const std::size_t n = valid_sequence(bytes, at)) {
      out.append(bytes.substr(at, n));
      at += n;
    } else {
      out += "\xEF\xBF\xBD";
      at += invalid_prefix(bytes, at);
    }
  }
  return out;
}

}  // namespace strata::tokenizer

namespace strata {

std::optional<std::size_t> invalid_utf8_offset(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t n = tokenizer::valid_sequence(text, at);
    if (n == 0) return at;
    at += n;
  }
  return std::nullopt;
}

}  // namespace strata
