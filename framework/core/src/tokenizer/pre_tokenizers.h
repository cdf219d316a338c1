#pragma once
// tokenizer.json "pre_tokenizer": normalized text -> the pieces the model encodes one by
// one. Supported: Split (regex or string, every behaviour, invert), ByteLevel (with or
// without GPT-2's regex), Metaspace (every prepend scheme, split or not), Sequence.
#include <memory>
#include <string>
#include <vector>

namespace strata::tokenizer {

struct JsonNode;

struct Piece {
  std::string text;
  // The piece begins where the whole input begins (Metaspace's prepend_scheme "first").
  bool at_input_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // pieces -> finer pieces (in order; empty pieces are dropped)
  virtual std::vector<Piece> split(std::vector<Piece> pieces) const = 0;
};

// null -> nullptr (each normalized segment is one piece).
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode& node);

}  // namespace strata::tokenizer
