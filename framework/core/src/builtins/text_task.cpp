// The built-in `text` task: language modelling of a file, as bytes or through a model's
// tokenizer (tokenizer.json or tokenizer.model). As one stream (the default): the first
// (1 - valid_fraction) of the tokens train, the rest validate; training windows start at
// random offsets, and the evaluation set is fixed, consecutive windows of the validation
// part. As documents (lines, paragraphs, separated pieces): packed or padded rows, below.
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <iterator>

#include "builtins/builtins.h"
#include "strata/tokenizer.h"

namespace strata::builtins {
namespace {

namespace fs = std::filesystem;

// What every layout of the text task shares: its tokenizer's vocabulary, the row length,
// perplexity.
class TokenizedTextTask : public Task {
 public:
  TokenizedTextTask(std::unique_ptr<Tokenizer> tokenizer, std::int64_t seq_len)
      : tokenizer_(std::move(tokenizer)), seq_len_(seq_len) {}
  std::int64_t vocab_size() const override { return tokenizer_->vocab_size(); }
  std::int64_t seq_len() const override { return seq_len_; }
  bool reports_perplexity() const override { return true; }
  double chance_accuracy() const override { return 1.0 / double(tokenizer_->vocab_size()); }
  const Tokenizer* tokenizer() const override { return tokenizer_.get(); }

 protected:
  std::unique_ptr<Tokenizer> tokenizer_;
  std::int64_t seq_len_;
};

class TextTask : public TokenizedTextTask {
 public:
  // tokens: the whole file's token ids
  TextTask(std::vector<std::int32_t> tokens, std::unique_ptr<Tokenizer> tokenizer, std::int64_t seq_len,
           double valid_fraction)
      : TokenizedTextTask(std::move(tokenizer), seq_len) {
    const auto n = static_cast<std::int64_t>(tokens.size());
    split_ = n - static_cast<std::int64_t>(double(n) * valid_fraction);
    tokens_ = std::move(tokens);
  }

  Batch train_batch(std::int64_t batch_size, Generator& gen) override {
    const std::int64_t starts = split_ - seq_len_;  // window [s, s + T] within the training part
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(batch_size));
    for (auto& o : offsets) o = std::int64_t(gen.next_u64() % std::uint64_t(starts));
    return windows(offsets);
  }

  Batch eval_batch(std::int64_t index, std::int64_t batch_size) override {
    const std::int64_t valid_len = std::int64_t(tokens_.size()) - split_;
    const std::int64_t n_windows = (valid_len - 1) / seq_len_;
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(batch_size));
    for (std::int64_t r = 0; r < batch_size; ++r)
      offsets[std::size_t(r)] = split_ + ((index * batch_size + r) % n_windows) * seq_len_;
    return windows(offsets);
  }

 private:
  Batch windows(const std::vector<std::int64_t>& offsets) const {
    const auto B = static_cast<std::int64_t>(offsets.size());
    std::vector<std::int64_t> inputs(std::size_t(B * seq_len_)), targets(std::size_t(B * seq_len_));
    for (std::int64_t b = 0; b < B; ++b) {
      for (std::int64_t t = 0; t < seq_len_; ++t) {
        inputs[std::size_t(b * seq_len_ + t)] = tokens_[std::size_t(offsets[std::size_t(b)] + t)];
        targets[std::size_t(b * seq_len_ + t)] = tokens_[std::size_t(offsets[std::size_t(b)] + t + 1)];
      }
    }
    return {Tensor::from_vector(inputs, {B, seq_len_}), Tensor::from_vector(targets, {B, seq_len_})};
  }

  std::vector<std::int32_t> tokens_;
  std::int64_t split_;
};

// The documents of a file, tokenized one by one, in a row-major stream: document i is
// tokens[begin[i], begin[i + 1]).
struct Documents {
  std::vector<std::int32_t> tokens;
  std::vector<std::int64_t> begin;  // [n + 1]
  std::int64_t count() const { return std::int64_t(begin.size()) - 1; }
  std::int64_t length(std::int64_t i) const { return begin[std::size_t(i + 1)] - begin[std::size_t(i)]; }
};

enum class Layout { packed, padded };

// Language modelling of separate documents (lines, paragraphs, or pieces between a
// separator). The first (1 - valid_fraction) of the documents train, the rest validate.
// packed: a row starts at a document and runs on through the following ones, T tokens in
// all, with Batch::sequence_starts marking where each begins (the model keeps them apart,
// and no target crosses a start); a document longer than the row is cut. padded: one
// document per row, cut to T tokens, the rest padding that is neither scored nor counted.
class DocumentTask : public TokenizedTextTask {
 public:
  DocumentTask(Documents docs, std::unique_ptr<Tokenizer> tokenizer, std::int64_t seq_len, std::int64_t n_train,
               Layout layout)
      : TokenizedTextTask(std::move(tokenizer), seq_len), docs_(std::move(docs)), n_train_(n_train), layout_(layout) {}

  Batch train_batch(std::int64_t batch_size, Generator& gen) override {
    std::vector<std::int64_t> first(static_cast<std::size_t>(batch_size));
    for (auto& d : first) d = std::int64_t(gen.next_u64() % std::uint64_t(n_train_));
    return rows(first, 0, n_train_);
  }

  Batch eval_batch(std::int64_t index, std::int64_t batch_size) override {
    const std::int64_t n_valid = docs_.count() - n_train_;
    std::vector<std::int64_t> first(static_cast<std::size_t>(batch_size));
    for (std::int64_t r = 0; r < batch_size; ++r) first[std::size_t(r)] = n_train_ + (index * batch_size + r) % n_valid;
    return rows(first, n_train_, docs_.count());
  }

 private:
  // One row per first document; documents [lo, hi) are this split's (a packed row wraps
  // around to lo after the last).
  Batch rows(const std::vector<std::int64_t>& first, std::int64_t lo, std::int64_t hi) const {
    const auto B = static_cast<std::int64_t>(first.size());
    const std::int64_t T = seq_len_;
    std::vector<std::int64_t> inputs(std::size_t(B * T), 0), targets(std::size_t(B * T), -100), starts(std::size_t(B * T));
    Batch batch;
    for (std::int64_t b = 0; b < B; ++b) {
      std::int64_t t = 0, d = first[std::size_t(b)];
      while (t < T) {
        const std::int64_t n = std::min(docs_.length(d), T - t), at = docs_.begin[std::size_t(d)];
        for (std::int64_t i = 0; i < n; ++i) {
          const std::size_t row = std::size_t(b * T + t + i);
          inputs[row] = docs_.tokens[std::size_t(at + i)];
          starts[row] = t;
          if (i + 1 < docs_.length(d)) targets[row] = docs_.tokens[std::size_t(at + i + 1)];
        }
        t += n;
        if (layout_ == Layout::padded) {
          batch.padding += T - t;
          break;
        }
        d = d + 1 < hi ? d + 1 : lo;
      }
    }
    batch.inputs = Tensor::from_vector(inputs, {B, T});
    batch.targets = Tensor::from_vector(targets, {B, T});
    // A padded row is one sequence (its padding comes after it: causal layers never mix it in).
    if (layout_ == Layout::packed) batch.sequence_starts = Tensor::from_vector(starts, {B, T});
    return batch;
  }

  Documents docs_;
  std::int64_t n_train_;
  Layout layout_;
};

// A relative path is tried from the current folder, then from the folder of the file
// that names it (so an experiment file can sit next to its data).
fs::path resolve(const Config& config, const std::string& key) {
  const fs::path given = config.string(key);
  std::error_code ec;
  if (given.is_absolute() || fs::exists(given, ec)) return given;
  const fs::path beside = fs::path(config.where(key).file).parent_path() / given;
  return fs::exists(beside, ec) ? beside : given;
}

std::unique_ptr<Tokenizer> task_tokenizer(const Config& c) {
  if (c.string("tokenizer").empty()) return byte_tokenizer();
  try {
    return load_tokenizer(resolve(c, "tokenizer"));
  } catch (const Error& e) {
    throw c.error("tokenizer", e.message(), e.hint().empty() ? "give a tokenizer.json, a tokenizer.model or a model folder" : e.hint());
  }
}

// The file's token ids; text that is not UTF-8 is refused with its line.
std::vector<std::int32_t> tokenize(const Config& c, const fs::path& path, const std::string& text,
                                   const Tokenizer& tokenizer) {
  std::vector<std::int64_t> ids;
  try {
    ids = tokenizer.encode(text, false);
  } catch (const ValueError& e) {
    std::string where;
    if (const auto at = invalid_utf8_offset(text))
      where = " (line " + std::to_string(std::count(text.begin(), text.begin() + std::ptrdiff_t(*at), '\n') + 1) + ")";
    throw c.error("path", path.string() + where + ": " + e.message(), "tokenizers read UTF-8 text; convert the file");
  }
  return std::vector<std::int32_t>(ids.begin(), ids.end());
}

// The document texts of `text` as `how` splits them: each non-empty line with its newline
// ("lines"), each block between blank lines with one newline ("paragraphs"), or each
// non-empty piece between occurrences of `separator` ("separator").
std::vector<std::string> split_documents(const std::string& text, const std::string& how, const std::string& separator) {
  std::vector<std::string> docs;
  if (how == "separator") {
    std::size_t at = 0;
    while (at <= text.size()) {
      const std::size_t next = text.find(separator, at);
      const std::size_t end = next == std::string::npos ? text.size() : next;
      if (end > at) docs.push_back(text.substr(at, end - at));
      if (next == std::string::npos) break;
      at = next + separator.size();
    }
    return docs;
  }
  std::string current;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string line = text.substr(at, end - at);
    at = end;
    const bool blank = line.find_first_not_of(" \t\r\n") == std::string::npos;
    if (how == "lines") {
      if (!blank) docs.push_back(line);
    } else if (blank) {
      if (!current.empty()) docs.push_back(std::move(current));
      current.clear();
    } else {
      current += line;
    }
  }
  if (!current.empty()) docs.push_back(std::move(current));
  return docs;
}

std::unique_ptr<Task> make_document_task(const Config& c, const fs::path& path, const std::string& text,
                                         std::unique_ptr<Tokenizer> tokenizer) {
  const std::string& how = c.string("documents");
  if (how == "separator" && c.string("separator").empty())
    throw c.error("documents", "documents = \"separator\" needs a separator", "set separator = \"<|endoftext|>\" (say)");
  // A tokenizer reads UTF-8 (bytes read anything): refused with the line in the whole file.
  if (const auto at = c.string("tokenizer").empty() ? std::nullopt : invalid_utf8_offset(text))
    throw c.error("path",
                  path.string() + " (line " +
                      std::to_string(std::count(text.begin(), text.begin() + std::ptrdiff_t(*at), '\n') + 1) +
                      "): the text is not UTF-8",
                  "tokenizers read UTF-8 text; convert the file");
  Documents docs;
  docs.begin.push_back(0);
  for (const std::string& doc : split_documents(text, how, c.string("separator"))) {
    const std::vector<std::int32_t> ids = tokenize(c, path, doc, *tokenizer);
    if (ids.empty()) continue;
    docs.tokens.insert(docs.tokens.end(), ids.begin(), ids.end());
    docs.begin.push_back(std::int64_t(docs.tokens.size()));
  }
  const std::int64_t n = docs.count();
  const auto n_valid = static_cast<std::int64_t>(double(n) * c.number("valid_fraction"));
  if (n_valid < 1 || n - n_valid < 1)
    throw c.error("path",
                  path.string() + " has " + std::to_string(n) + " documents (documents = \"" + how +
                      "\"): too few for a training and a validation part",
                  "use a longer file, another documents split or a larger valid_fraction");
  return std::make_unique<DocumentTask>(std::move(docs), std::move(tokenizer), c.integer("seq_len"), n - n_valid,
                                        c.string("layout") == "padded" ? Layout::padded : Layout::packed);
}

}  // namespace

void register_text_task(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::task, "text", "byte-level language modelling of a text file", {}, {}};
  spec.schema.required("path", ConfigType::string, "the text file (relative: to the current folder or this file)");
  spec.schema.string("tokenizer", "",
                     "a tokenizer.json, tokenizer.model or model folder (relative as path); empty: bytes (256 tokens)");
  spec.schema.integer("seq_len", 128, "tokens per training sequence").range(1, 1 << 20);
  spec.schema.number("valid_fraction", 0.1, "fraction of the file (at its end) held out for evaluation")
      .range(0.001, 0.5);
  spec.schema.string("documents", "stream",
                     "stream: windows at random offsets of the whole file; or separate documents: lines, paragraphs "
                     "(blank-line separated), separator (pieces between `separator`)")
      .one_of({"stream", "lines", "paragraphs", "separator"});
  spec.schema.string("separator", "", "the text between documents with documents = \"separator\" (e.g. <|endoftext|>)");
  spec.schema.string("layout", "packed",
                     "with documents: packed (rows run through several documents, kept apart by the model) or padded "
                     "(one document per row, the rest padding)")
      .one_of({"packed", "padded"});
  registry.add(std::move(spec), [](const Config& c, const BuildContext&) -> std::unique_ptr<Component> {
    const fs::path path = resolve(c, "path");
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      throw c.error("path",
                    path.string() + " is not a readable file" + (fs::is_directory(path, ec) ? " (a folder)" : ""),
                    "give the path of a text file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw c.error("path", "cannot read text file " + path.string(), "check the path");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::unique_ptr<Tokenizer> tokenizer = task_tokenizer(c);
    if (c.string("documents") != "stream") return make_document_task(c, path, text, std::move(tokenizer));
    std::vector<std::int32_t> tokens = tokenize(c, path, text, *tokenizer);
    const std::int64_t T = c.integer("seq_len");
    const auto n = static_cast<std::int64_t>(tokens.size());
    const auto valid = static_cast<std::int64_t>(double(n) * c.number("valid_fraction"));
    if (n - valid <= T + 1 || valid <= T + 1) {
      throw c.error("path",
                    path.string() + " has " + std::to_string(n) + " tokens (" + tokenizer->describe() +
                        "): too short for seq_len = " + std::to_string(T) +
                        " in both the training and the validation part",
                    "use a longer file, a smaller seq_len or a larger valid_fraction");
    }
    return std::make_unique<TextTask>(std::move(tokens), std::move(tokenizer), T, c.number("valid_fraction"));
  });
}

}  // namespace strata::builtins
