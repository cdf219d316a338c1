// A build without libsentencepiece (STRATA_SENTENCEPIECE=OFF, e.g. the ARM64 cross build):
// tokenizer.model files are refused with what to do; tokenizer.json files still work.
#include "strata/error.h"
#include "tokenizer/hf_tokenizer.h"

namespace strata::tokenizer {

std::unique_ptr<Tokenizer> read_sentencepiece(const std::filesystem::path& file) {
  throw NotImplementedError(file.string() + ": this strata was built without SentencePiece (STRATA_SENTENCEPIECE=OFF)",
                            "install libsentencepiece-dev and rebuild, or use the model's tokenizer.json");
}

}  // namespace strata::tokenizer
