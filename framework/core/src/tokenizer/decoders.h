#pragma once
// tokenizer.json "decoder": token strings -> text. Supported: ByteLevel, Metaspace,
// Replace, ByteFallback, Fuse, Strip, Sequence (a chain over the list of token strings,
// joined at the end, as the `tokenizers` package's decode_chain).
#include <memory>
#include <string>
#include <vector>

namespace strata::tokenizer {

struct JsonNode;

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
};

// null -> nullptr (tokens are joined with spaces, as `tokenizers` does without a decoder).
std::unique_ptr<Decoder> make_decoder(const JsonNode& node);

}  // namespace strata::tokenizer
