#include "tokenizer/pre_tokenizers.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/json_node.h"
#include "tokenizer/regex.h"

namespace strata::tokenizer {
namespace {

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

Behavior behavior_from_json(const JsonNode& node) {
  const std::string name = node.string();
  if (name == "Removed") return Behavior::removed;
  if (name == "Isolated") return Behavior::isolated;
  if (name == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (name == "MergedWithNext") return Behavior::merged_with_next;
  if (name == "Contiguous") return Behavior::contiguous;
  node.fail("unknown split behavior \"" + name + "\"",
            "one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

struct Span {
  std::size_t begin, end;
  bool match;
};

// Splits `piece` around `matches` as the `tokenizers` package's NormalizedString::split.
void split_piece(const Piece& piece, const std::vector<std::pair<std::size_t, std::size_t>>& matches, Behavior behavior,
                 bool invert, std::vector<Piece>& out) {
  std::vector<Span> spans;
  std::size_t last = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > last) spans.push_back({last, begin, invert});
    spans.push_back({begin, end, !invert});
    last = end;
  }
  if (last < piece.text.size()) spans.push_back({last, piece.text.size(), invert});

  std::vector<Span> kept;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::removed:
      for (const Span& s : spans)
        if (!s.match) kept.push_back(s);
      break;
    case Behavior::isolated:
      kept = spans;
      break;
    case Behavior::merged_with_previous:
      for (const Span& s : spans) {
        if (s.match && !previous_match && !kept.empty())
          kept.back().end = s.end;
        else
          kept.push_back(s);
        previous_match = s.match;
      }
      break;
    case Behavior::merged_with_next:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !previous_match && !kept.empty())
          kept.back().begin = it->begin;
        else
          kept.push_back(*it);
        previous_match = it->match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    case Behavior::contiguous:
      for (const Span& s : spans) {
        if (s.match && previous_match)
          kept.back().end = s.end;
        else
          kept.push_back(s);
        previous_match = s.match;
      }
      break;
  }
  for (const Span& s : kept)
    if (s.end > s.begin) out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_input_start && s.begin == 0});
}

class Split : public PreTokenizer {
 public:
  Split(Pattern pattern, Behavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  std::vector<Piece> split(std::vector<Piece> pieces) const override {
    std::vector<Piece> out;
    for (const Piece& p : pieces) split_piece(p, pattern_.find_all(p.text), behavior_, invert_, out);
    return out;
  }

 private:
  Pattern pattern_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    // GPT-2's pre-tokenization (openai/gpt-2 encoder.py)
    if (use_regex)
      gpt2_ = Pattern::regex(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
    use_regex_ = use_regex;
  }
  std::vector<Piece> split(std::vector<Piece> pieces) const override {
    std::vector<Piece> split_pieces;
    for (Piece& p : pieces) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
      if (use_regex_)
        split_piece(p, gpt2_.find_all(p.text), Behavior::isolated, false, split_pieces);
      else if (!p.text.empty())
        split_pieces.push_back(std::move(p));
    }
    for (Piece& p : split_pieces) p.text = bytes_to_chars(p.text);
    return split_pieces;
  }

 private:
  bool add_prefix_space_;
  bool use_regex_ = false;
  Pattern gpt2_;
};

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, std::string prepend_scheme, bool split)
      : replacement_(std::move(replacement)), prepend_scheme_(std::move(prepend_scheme)), split_(split) {}
  std::vector<Piece> split(std::vector<Piece> pieces) const override {
    std::vector<Piece> out;
    const Pattern space = Pattern::literal(" ");
    const Pattern marker = Pattern::literal(replacement_);
    for (Piece& p : pieces) {
      std::string replaced = replace_all(space, p.text, replacement_);
      const bool starts_with_marker = replaced.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts_with_marker && (prepend_scheme_ == "always" || (prepend_scheme_ == "first" && p.at_input_start)))
        replaced.insert(0, replacement_);
      Piece whole{std::move(replaced), p.at_input_start};
      if (split_)
        split_piece(whole, marker.find_all(whole.text), Behavior::merged_with_next, false, out);
      else if (!whole.text.empty())
        out.push_back(std::move(whole));
    }
    return out;
  }

 private:
  std::string replacement_, prepend_scheme_;
  bool split_;
};

class Sequence : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  std::vector<Piece> split(std::vector<Piece> pieces) const override {
    for (const auto& step : steps_) pieces = step->split(std::move(pieces));
    return pieces;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode& node) {
  if (node.value.is_null()) return nullptr;
  const std::string type = node.type();
  if (type == "Split")
    return std::make_unique<Split>(pattern_from_json(node["pattern"]), behavior_from_json(node["behavior"]),
                                   node.boolean_or("invert", false));
  if (type == "ByteLevel")
    return std::make_unique<ByteLevel>(node.boolean_or("add_prefix_space", true), node.boolean_or("use_regex", true));
  if (type == "Metaspace") {
    std::string scheme = node.string_or("prepend_scheme", "");
    if (scheme.empty())  // files from before prepend_scheme: add_prefix_space true means "always"
      scheme = node.boolean_or("add_prefix_space", true) ? "always" : "never";
    if (scheme != "always" && scheme != "first" && scheme != "never")
      node["prepend_scheme"].fail("unknown prepend_scheme \"" + scheme + "\"", "one of always, first, never");
    return std::make_unique<Metaspace>(node["replacement"].string(), scheme, node.boolean_or("split", true));
  }
  if (type == "Sequence") {
    return std::make_unique<Sequence>(sequence_steps<PreTokenizer>(node, "pretokenizers", make_pre_tokenizer));
  }
  node.unsupported_type("pre_tokenizer");
}

}  // namespace strata::tokenizer
