#pragma once
// Token ids from the command line (`--tokens`, `--prompt`): a literal list, or a file.
#include <cstdint>
#include <string>

#include "strata/checkpoint.h"
#include "strata/error.h"
#include "strata/tensor.h"
#include "strata/tokenizer.h"

namespace strata::cli {

// A command-line value that cannot be used; reported as bad input (exit code 2).
class UsageError : public Error {
 public:
  using Error::Error;
};

// `spec` is one of
//   a literal list:  "5 3 9 1" or "5,3,9,1"; sequences separated by ';' ("1 2 3; 4 5 6")
//   a .npy file:     int64/int32 ids [T] or [B, T]
//   a .safetensors file: the tensor "input_ids" (or its only tensor), ids [T] or [B, T]
//   any other file:  whitespace- or comma-separated ids, one sequence per line
// -> ids [B, T] i64. Every sequence must have the same length T >= 1 and every id must lie
// in [0, vocab_size). Throws UsageError or FileFormatError (naming `option` or the file)
// saying which id or line is bad.
Tensor read_token_ids(const std::string& spec, std::int64_t vocab_size, const std::string& option);

// The tokenizer for `--text` (checkpoint_tokenizer, with `override_path` from --tokenizer);
// UsageError when the model has none.
std::shared_ptr<const Tokenizer> text_tokenizer(const LoadedCheckpoint& checkpoint, const std::string& override_path);

// text -> ids [1, T] i64, with the special tokens the tokenizer adds around a sequence (BOS).
// Every id must lie in [0, vocab_size): UsageError naming `option` otherwise, or when the
// text gives no tokens.
Tensor encode_text(const Tokenizer& tokenizer, const std::string& text, std::int64_t vocab_size,
                   const std::string& option);

}  // namespace strata::cli
