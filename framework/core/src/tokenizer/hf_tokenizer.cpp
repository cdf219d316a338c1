// A Hugging Face tokenizer.json, run as the `tokenizers` package runs it: added tokens
// split off the raw text, the normalizer, added tokens again (the normalized ones), the
// pre-tokenizer, the BPE model per piece, and the post-processor; decoding maps ids to
// token strings (skipping special tokens when asked) and runs the decoder chain.
#include "tokenizer/hf_tokenizer.h"

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "strata/error.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoders.h"
#include "tokenizer/json_node.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"

namespace strata::tokenizer {
namespace {

nlohmann::json parse_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FileFormatError("cannot read " + file.string(), "check the path and its permissions");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number out of range
    throw FileFormatError(file.string() + ": not valid JSON (" + e.what() + ")",
                          "the file may be truncated; download it again");
  }
}

class HfTokenizer : public Tokenizer {
 public:
  HfTokenizer(const std::filesystem::path& file, const nlohmann::json& json)
      : file_(file), added_(part(json, "added_tokens")), model_(bpe_model(JsonNode{json, "", file_})) {
    normalizer_ = make_normalizer(part(json, "normalizer"));
    pre_tokenizer_ = make_pre_tokenizer(part(json, "pre_tokenizer"));
    post_processor_ = make_post_processor(part(json, "post_processor"));
    decoder_ = make_decoder(part(json, "decoder"));
    vocab_size_ = std::max(model_.max_id(), added_.max_id()) + 1;
    describe_layout(json);
  }

  std::vector<std::int64_t> encode(std::string_view text, bool add_special_tokens) const override {
    require_utf8(text);
    std::vector<std::int64_t> ids;
    for (const Segment& raw : added_.split(text, false)) {
      if (raw.token >= 0) {
        ids.push_back(raw.token);
        continue;
      }
      std::string segment(text.substr(raw.begin, raw.end - raw.begin));
      if (normalizer_) segment = normalizer_->normalize(std::move(segment));
      for (const Segment& s : added_.split(segment, true)) {
        if (s.token >= 0) {
          ids.push_back(s.token);
          continue;
        }
        std::vector<Piece> pieces{{segment.substr(s.begin, s.end - s.begin), raw.begin == 0 && s.begin == 0}};
        if (pre_tokenizer_) pieces = pre_tokenizer_->split(std::move(pieces));
        for (const Piece& p : pieces) model_.encode(p.text, ids);
      }
    }
    if (add_special_tokens && post_processor_) ids = post_processor_->add_special_tokens(std::move(ids));
    return ids;
  }

  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const override {
    require_ids_in_range(ids, vocab_size_);
    std::vector<std::string> tokens;
    for (std::int64_t id : ids) {
      if (const AddedToken* t = added_.by_id(id)) {
        if (!(skip_special_tokens && t->special)) tokens.push_back(t->content);
      } else if (const std::string* token = model_.id_to_token(id)) {
        tokens.push_back(*token);
      }
    }
    std::string text;
    if (decoder_) {
      for (const std::string& part : decoder_->decode_chain(std::move(tokens))) text += part;
    } else {
      for (std::size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    }
    return text;
  }

  std::int64_t vocab_size() const override { return vocab_size_; }

  std::optional<std::int64_t> token_id(std::string_view token) const override {
    if (const AddedToken* t = added_.by_content(token)) return t->id;
    return model_.token_to_id(token);
  }

  std::string describe() const override {
    return file_.filename().string() + ": BPE, " + std::to_string(model_.size()) + " tokens and " +
           std::to_string(added_.size()) + " added, ids < " + std::to_string(vocab_size_);
  }

  const std::filesystem::path& source() const override { return file_; }

  TokenizerVocabulary vocabulary() const override {
    TokenizerVocabulary v = layout_;
    v.tokens.assign(std::size_t(vocab_size_), "");
    v.types.assign(std::size_t(vocab_size_), 1);
    for (std::int64_t id = 0; id < vocab_size_; ++id) {
      if (const AddedToken* t = added_.by_id(id)) {
        v.tokens[std::size_t(id)] = t->content;
        v.types[std::size_t(id)] = t->special ? 3 : 4;
      } else if (const std::string* token = model_.id_to_token(id)) {
        v.tokens[std::size_t(id)] = *token;
      }
    }
    v.merges = model_.merges();
    v.unk = model_.unk();
    return v;
  }

 private:
  // What vocabulary() reports beyond the tokens: byte-level or not, the split pattern, and
  // the BOS the post-processor's template puts first.
  void describe_layout(const nlohmann::json& json) {
    layout_.kind = TokenizerVocabulary::Kind::bpe;
    const std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& p) {
      if (!p.is_object()) return;
      const std::string type = p.value("type", "");
      if (type == "ByteLevel") {
        layout_.kind = TokenizerVocabulary::Kind::byte_level_bpe;
      } else if (type == "Split" && layout_.split_pattern.empty() && p.contains("pattern") &&
                 p["pattern"].contains("Regex")) {
        layout_.split_pattern = p["pattern"]["Regex"].get<std::string>();
      } else if (type == "Sequence" && p.contains("pretokenizers")) {
        for (const auto& q : p["pretokenizers"]) walk(q);
      }
    };
    if (json.contains("pre_tokenizer")) walk(json["pre_tokenizer"]);
    std::function<void(const nlohmann::json&)> find_bos = [&](const nlohmann::json& p) {
      if (!p.is_object()) return;
      if (p.value("type", "") == "Sequence" && p.contains("processors"))
        for (const auto& q : p["processors"]) find_bos(q);
      if (p.value("type", "") != "TemplateProcessing" || !p.contains("single") || p["single"].empty()) return;
      const auto& first = p["single"][0];
      if (!first.contains("SpecialToken")) return;
      const auto& special = p["special_tokens"][first["SpecialToken"]["id"].get<std::string>()];
      layout_.bos = special["ids"][0].get<std::int64_t>();
      layout_.add_bos = true;
    };
    if (json.contains("post_processor")) find_bos(json["post_processor"]);
  }

  TokenizerVocabulary layout_;
  // A top-level member, or null when the file leaves it out.
  JsonNode part(const nlohmann::json& json, const char* key) const {
    static const nlohmann::json null = nullptr;
    return {json.contains(key) ? json[key] : null, key, file_};
  }

  static JsonNode bpe_model(const JsonNode& root) {
    JsonNode model = root["model"];
    const std::string type = model.string_or("type", "BPE");
    if (type != "BPE")
      model["type"].fail("model type \"" + type + "\" is not supported",
                         "strata reads BPE tokenizers (GPT-2, Llama, Mistral, Qwen); WordPiece, WordLevel and "
                         "Unigram models are not read");
    return model;
  }

  std::filesystem::path file_;
  AddedTokens added_;
  BpeModel model_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;
  std::int64_t vocab_size_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> read_hf_tokenizer(const std::filesystem::path& file) {
  const nlohmann::json json = parse_file(file);
  if (!json.is_object()) throw FileFormatError(file.string() + ": expected a JSON object", "is this a tokenizer.json?");
  try {
    return std::make_unique<HfTokenizer>(file, json);
  } catch (const nlohmann::json::exception& e) {  // a value of the wrong JSON type the checks missed
    throw FileFormatError(file.string() + ": " + e.what(), "the file is not a tokenizer.json strata can read");
  }
}

void require_utf8(std::string_view text) {
  if (const auto at = invalid_utf8_offset(text))
    throw ValueError("text is not valid UTF-8 at byte " + std::to_string(*at),
                     "tokenizers read UTF-8 text; convert the input first");
}

void require_ids_in_range(const std::vector<std::int64_t>& ids, std::int64_t vocab_size) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab_size)
      throw ValueError("token id " + std::to_string(ids[i]) + " (position " + std::to_string(i) +
                           ") is outside this tokenizer's ids [0, " + std::to_string(vocab_size) + ")",
                       "decode ids of a model that uses this tokenizer");
}

}  // namespace strata::tokenizer
