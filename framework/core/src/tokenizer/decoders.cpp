#include "tokenizer/decoders.h"

#include <cctype>

#include "strata/tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/json_node.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace strata::tokenizer {
namespace {

class ByteLevel : public Decoder {
 public:
  // Each token's characters back to bytes (a token with a character outside the table, an
  // added token say, keeps its UTF-8 bytes); the whole is then decoded leniently.
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      std::string mapped;
      bool all = true;
      for (std::size_t at = 0; at < token.size() && all;) {
        const auto b = char_to_byte(next_code_point(token, at));
        if (b)
          mapped.push_back(char(*b));
        else
          all = false;
      }
      bytes += all ? mapped : token;
    }
    return {utf8_lossy(bytes)};
  }
};

class Metaspace : public Decoder {
 public:
  Metaspace(std::string replacement, bool strip_first) : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (std::size_t at = 0; at < t.size();) {
        if (t.compare(at, replacement_.size(), replacement_) == 0) {
          if (!(i == 0 && strip_first_)) out.push_back(' ');
          at += replacement_.size();
        } else {
          out.push_back(t[at++]);
        }
      }
      tokens[i] = std::move(out);
    }
    return tokens;
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class Replace : public Decoder {
 public:
  Replace(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) t = replace_all(pattern_, t, content_);
    return tokens;
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// "<0xAB>" tokens (SentencePiece byte pieces) -> their bytes; a run that is not valid
// UTF-8 becomes one U+FFFD per byte.
class ByteFallback : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string pending;
    std::size_t pending_count = 0;
    const auto flush = [&] {
      if (pending_count == 0) return;
      if (!invalid_utf8_offset(pending)) {
        out.push_back(pending);
      } else {
        for (std::size_t i = 0; i < pending_count; ++i) out.push_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (std::string& t : tokens) {
      unsigned value = 0;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
          std::isxdigit(static_cast<unsigned char>(t[4]))) {
        value = unsigned(std::stoul(t.substr(3, 2), nullptr, 16));
        pending.push_back(char(value));
        ++pending_count;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

class Fuse : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string all;
    for (const std::string& t : tokens) all += t;
    return {all};
  }
};

class Strip : public Decoder {
 public:
  Strip(std::string content, std::size_t start, std::size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      std::size_t begin = 0, end = t.size();
      for (std::size_t i = 0; i < start_ && t.compare(begin, content_.size(), content_) == 0 && begin < end; ++i)
        begin += content_.size();
      for (std::size_t i = 0; i < stop_ && end >= begin + content_.size() &&
                              t.compare(end - content_.size(), content_.size(), content_) == 0;
           ++i)
        end -= content_.size();
      t = t.substr(begin, end - begin);
    }
    return tokens;
  }

 private:
  std::string content_;
  std::size_t start_, stop_;
};

class Sequence : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& step : steps_) tokens = step->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const JsonNode& node) {
  if (node.value.is_null()) return nullptr;
  const std::string type = node.type();
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Metaspace") {
    std::string scheme = node.string_or("prepend_scheme", "");
    if (scheme.empty()) scheme = node.boolean_or("add_prefix_space", true) ? "always" : "never";
    return std::make_unique<Metaspace>(node["replacement"].string(), scheme != "never");
  }
  if (type == "Replace") return std::make_unique<Replace>(pattern_from_json(node["pattern"]), node["content"].string());
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Strip")
    return std::make_unique<Strip>(node["content"].string(), std::size_t(node["start"].integer()),
                                   std::size_t(node["stop"].integer()));
  if (type == "Sequence") {
    return std::make_unique<Sequence>(sequence_steps<Decoder>(node, "decoders", make_decoder));
  }
  node.unsupported_type("decoder");
}

}  // namespace strata::tokenizer
