#include "tokenizer/byte_level.h"

#include <unordered_map>

#include "tokenizer/utf8.h"

namespace strata::tokenizer {
namespace {

// Printable Latin-1 bytes stand for themselves; the other 68 bytes map, in order, to
// U+0100 onwards.
struct Table {
  std::array<char32_t, 256> to_char{};
  std::unordered_map<char32_t, unsigned char> to_byte;
  Table() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[std::size_t(b)] = printable ? char32_t(b) : next++;
      to_byte[to_char[std::size_t(b)]] = static_cast<unsigned char>(b);
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

std::string bytes_to_chars(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) append_utf8(out, table().to_char[b]);
  return out;
}

std::optional<unsigned char> char_to_byte(char32_t c) {
  const auto it = table().to_byte.find(c);
  if (it == table().to_byte.end()) return std::nullopt;
  return it->second;
}

}  // namespace strata::tokenizer
