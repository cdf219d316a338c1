#pragma once
// tokenizer.json "post_processor": the special tokens around an encoded sequence (when
// special tokens are asked for). Supported: TemplateProcessing (single sequences),
// BertProcessing, RobertaProcessing, ByteLevel (offsets only: no change to the ids),
// Sequence.
#include <cstdint>
#include <memory>
#include <vector>

namespace strata::tokenizer {

struct JsonNode;

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual std::vector<std::int64_t> add_special_tokens(std::vector<std::int64_t> ids) const = 0;
};

// null -> nullptr (no special tokens are added).
std::unique_ptr<PostProcessor> make_post_processor(const JsonNode& node);

}  // namespace strata::tokenizer
