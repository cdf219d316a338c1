#pragma once
// Tokenizers of published models: text <-> token ids.
//
//   tokenizer.json   Hugging Face `tokenizers` files: a BPE model (byte-level as GPT-2,
//                    Llama 3 and Qwen use it; or with byte fallback as Llama 2 and Mistral
//                    converted from SentencePiece), its normalizers, pre-tokenizers (regex
//                    splits through PCRE2), added and special tokens, post-processor and
//                    decoders. Parts of a file this reader does not implement are refused
//                    by their JSON path, never skipped.
//   tokenizer.model  SentencePiece models, through libsentencepiece.
//
// Encoding and decoding equal the `tokenizers` and `sentencepiece` Python packages
// (tests/fixtures/tokenizers holds the ids those packages give on a multilingual corpus).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

// A tokenizer's vocabulary as other runtimes rebuild it (a GGUF file's tokenizer.ggml.*).
struct TokenizerVocabulary {
  enum class Kind { bytes, byte_level_bpe, bpe, sentencepiece };
  Kind kind = Kind::bytes;
  std::vector<std::string> tokens;  // by id; "" where an id is unused
  // By id, SentencePiece's piece types: 1 normal, 2 unknown, 3 control, 4 user defined,
  // 5 unused, 6 byte.
  std::vector<std::int32_t> types;
  std::vector<float> scores;        // SentencePiece piece scores; empty for BPE
  std::vector<std::string> merges;  // BPE merges in rank order, "left right"
  // A byte-level BPE's split pattern before the byte mapping ("" for GPT-2's own).
  std::string split_pattern;
  std::optional<std::int64_t> bos, eos, unk;
  bool add_bos = false;  // encoding with special tokens starts with bos
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // text: UTF-8 (anything else is refused, saying at which byte). With
  // `add_special_tokens`, the tokens the model expects around a sequence (e.g. BOS) are
  // added as the file's post-processor (or SentencePiece's BOS) says.
  virtual std::vector<std::int64_t> encode(std::string_view text, bool add_special_tokens) const = 0;

  // ids -> text; special tokens (BOS, EOS, chat markers) are left out when
  // `skip_special_tokens`. Every id must lie in [0, vocab_size()).
  virtual std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const = 0;

  // One past the largest id (the model's vocabulary must be at least this large).
  virtual std::int64_t vocab_size() const = 0;

  // The id of a token's text (e.g. "<|im_end|>"), if the vocabulary has it.
  virtual std::optional<std::int64_t> token_id(std::string_view token) const = 0;

  // One line for logs: "tokenizer.json: byte-level BPE, 1500 tokens".
  virtual std::string describe() const = 0;

  // The file it was read from.
  virtual const std::filesystem::path& source() const = 0;

  virtual TokenizerVocabulary vocabulary() const = 0;
};

// A model folder's tokenizer file: tokenizer.json if present, else tokenizer.model.
std::optional<std::filesystem::path> find_tokenizer_file(const std::filesystem::path& folder);

// `path`: a tokenizer.json or tokenizer.model file, or a folder holding one. Throws
// FileFormatError naming the file (and the JSON path) for anything it cannot read.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

// Bytes as tokens (ids 0-255), the `text` task's default: encoding gives the UTF-8 bytes,
// decoding the bytes back (not checked to be UTF-8). source() is empty.
std::unique_ptr<Tokenizer> byte_tokenizer();

// The first byte offset at which `text` is not valid UTF-8, if any.
std::optional<std::size_t> invalid_utf8_offset(std::string_view text);

}  // namespace strata
