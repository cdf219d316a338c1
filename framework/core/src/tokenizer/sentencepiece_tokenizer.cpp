// A SentencePiece tokenizer.model through libsentencepiece (Kudo and Richardson 2018).
// With special tokens, encoding prepends BOS as Llama's and Mistral's tokenizers do.
#include <sentencepiece_processor.h>

#include "strata/error.h"
#include "tokenizer/hf_tokenizer.h"

namespace strata::tokenizer {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& file) : file_(file) {
    const auto status = processor_.Load(file.string());
    if (!status.ok())
      throw FileFormatError(file.string() + ": not a SentencePiece model (" + status.ToString() + ")",
                            "tokenizer.model must be a SentencePiece ModelProto; download it again");
  }

  std::vector<std::int64_t> encode(std::string_view text, bool add_special_tokens) const override {
    require_utf8(text);
    std::vector<int> pieces;
    const auto status = processor_.Encode(std::string(text), &pieces);
    if (!status.ok()) throw ValueError("SentencePiece cannot encode the text: " + status.ToString());
    std::vector<std::int64_t> ids;
    if (add_special_tokens && processor_.bos_id() >= 0) ids.push_back(processor_.bos_id());
    ids.insert(ids.end(), pieces.begin(), pieces.end());
    return ids;
  }

  // SentencePiece leaves control pieces (BOS, EOS) out of the text either way.
  std::string decode(const std::vector<std::int64_t>& ids, bool) const override {
    require_ids_in_range(ids, vocab_size());
    const std::vector<int> pieces(ids.begin(), ids.end());
    std::string text;
    const auto status = processor_.Decode(pieces, &text);
    if (!status.ok()) throw ValueError("SentencePiece cannot decode the ids: " + status.ToString());
    return text;
  }

  std::int64_t vocab_size() const override { return processor_.GetPieceSize(); }

  std::optional<std::int64_t> token_id(std::string_view token) const override {
    const int id = processor_.PieceToId(std::string(token));
    if (id < 0 || processor_.IdToPiece(id) != token) return std::nullopt;
    return id;
  }

  std::string describe() const override {
    return file_.filename().string() + ": SentencePiece, " + std::to_string(vocab_size()) + " pieces";
  }

  const std::filesystem::path& source() const override { return file_; }

  TokenizerVocabulary vocabulary() const override {
    TokenizerVocabulary v;
    v.kind = TokenizerVocabulary::Kind::sentencepiece;
    for (int id = 0; id < processor_.GetPieceSize(); ++id) {
      v.tokens.push_back(processor_.IdToPiece(id));
      v.scores.push_back(processor_.GetScore(id));
      v.types.push_back(processor_.IsUnknown(id)   ? 2
                        : processor_.IsControl(id) ? 3
                        : processor_.IsUnused(id)  ? 5
                        : processor_.IsByte(id)    ? 6
                                                   : 1);
    }
    const auto id_or_none = [](int id) { return id >= 0 ? std::optional<std::int64_t>(id) : std::nullopt; };
    v.bos = id_or_none(processor_.bos_id());
    v.eos = id_or_none(processor_.eos_id());
    v.unk = id_or_none(processor_.unk_id());
    v.add_bos = v.bos.has_value();
    return v;
  }

 private:
  std::filesystem::path file_;
  sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace

std::unique_ptr<Tokenizer> read_sentencepiece(const std::filesystem::path& file) {
  return std::make_unique<SentencePieceTokenizer>(file);
}

}  // namespace strata::tokenizer
