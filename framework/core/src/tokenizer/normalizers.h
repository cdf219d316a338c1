#pragma once
// tokenizer.json "normalizer": text -> normalized text, before pre-tokenization.
// Supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence.
#include <memory>
#include <string>

namespace strata::tokenizer {

struct JsonNode;

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual std::string normalize(std::string text) const = 0;
};

// null -> nullptr (no normalization).
std::unique_ptr<Normalizer> make_normalizer(const JsonNode& node);

}  // namespace strata::tokenizer
