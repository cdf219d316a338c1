#include "tokenizer/normalizers.h"

#include <cstdlib>
#include <utf8proc.h>
#include <vector>

#include "tokenizer/json_node.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace strata::tokenizer {
namespace {

class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(utf8proc_option_t options) : options_(options) {}
  std::string normalize(std::string text) const override {
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                            utf8proc_ssize_t(text.size()), &out, options_);
    if (n < 0) return text;  // unreachable for valid UTF-8
    std::string result(reinterpret_cast<char*>(out), std::size_t(n));
    std::free(out);
    return result;
  }

 private:
  utf8proc_option_t options_;
};

class Lowercase : public Normalizer {
 public:
  std::string normalize(std::string text) const override {
    std::string out;
    for (std::size_t at = 0; at < text.size();) append_utf8(out, char32_t(utf8proc_tolower(next_code_point(text, at))));
    return out;
  }
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string normalize(std::string text) const override { return text.empty() ? text : prefix_ + text; }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(Pattern pattern, std::string content) : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string normalize(std::string text) const override { return replace_all(pattern_, text, content_); }

 private:
  Pattern pattern_;
  std::string content_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string normalize(std::string text) const override {
    std::size_t begin = 0, end = text.size();
    if (left_) {
      for (std::size_t next = begin; begin < text.size(); begin = next)
        if (!is_whitespace(next_code_point(text, next))) break;
    }
    if (right_) {
      std::size_t at = begin, last_kept = begin;
      while (at < text.size())
        if (!is_whitespace(next_code_point(text, at))) last_kept = at;
      end = last_kept;
    }
    return text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class Sequence : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string normalize(std::string text) const override {
    for (const auto& step : steps_) text = step->normalize(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const JsonNode& node) {
  if (node.value.is_null()) return nullptr;
  const std::string type = node.type();
  const auto form = [](int options) { return std::make_unique<UnicodeForm>(utf8proc_option_t(options)); };
  if (type == "NFC") return form(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (type == "NFD") return form(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  if (type == "NFKC") return form(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (type == "NFKD") return form(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Prepend") return std::make_unique<Prepend>(node["prepend"].string());
  if (type == "Replace") return std::make_unique<Replace>(pattern_from_json(node["pattern"]), node["content"].string());
  if (type == "Strip") return std::make_unique<Strip>(node.boolean_or("strip_left", true), node.boolean_or("strip_right", true));
  if (type == "Sequence") {
    return std::make_unique<Sequence>(sequence_steps<Normalizer>(node, "normalizers", make_normalizer));
  }
  node.unsupported_type("normalizer");
}

}  // namespace strata::tokenizer
