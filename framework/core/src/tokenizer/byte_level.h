#pragma once
// GPT-2's byte <-> character table (openai/gpt-2 encoder.py `bytes_to_unicode`): every
// byte maps to a printable character, so byte-level BPE vocabularies are strings.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace strata::tokenizer {

// Each byte of `bytes` as its table character (UTF-8).
std::string bytes_to_chars(std::string_view bytes);

// The byte a table character stands for; none for a character outside the table.
std::optional<unsigned char> char_to_byte(char32_t c);

}  // namespace strata::tokenizer
