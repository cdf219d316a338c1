#pragma once
// Readers behind load_tokenizer (strata/tokenizer.h), one per file format.
#include <filesystem>
#include <memory>

#include "strata/tokenizer.h"

namespace strata::tokenizer {

// A Hugging Face tokenizer.json.
std::unique_ptr<Tokenizer> read_hf_tokenizer(const std::filesystem::path& file);

// A SentencePiece tokenizer.model (libsentencepiece).
std::unique_ptr<Tokenizer> read_sentencepiece(const std::filesystem::path& file);

// Throws ValueError when `text` is not UTF-8, naming the byte.
void require_utf8(std::string_view text);

// Throws ValueError for an id outside [0, vocab_size).
void require_ids_in_range(const std::vector<std::int64_t>& ids, std::int64_t vocab_size);

}  // namespace strata::tokenizer
