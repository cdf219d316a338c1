// The built-in `text` task: language modelling of a file, as bytes or through a model's
// tokenizer (tokenizer.json or tokenizer.model). The first (1 - valid_fraction) of the
// tokens train, the rest validate. Training windows start at random offsets; the
// evaluation set is fixed, consecutive windows of the validation part.
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <iterator>

#include "builtins/builtins.h"
#include "strata/tokenizer.h"

namespace strata::builtins {
namespace {

namespace fs = std::filesystem;

class TextTask : public Task {
 public:
  // tokens: the whole file's token ids
  TextTask(std::vector<std::int32_t> tokens, std::unique_ptr<Tokenizer> tokenizer, std::int64_t seq_len,
           double valid_fraction)
      : tokenizer_(std::move(tokenizer)), seq_len_(seq_len) {
    const auto n = static_cast<std::int64_t>(tokens.size());
    split_ = n - static_cast<std::int64_t>(double(n) * valid_fraction);
    tokens_ = std::move(tokens);
  }

  std::int64_t vocab_size() const override { return tokenizer_->vocab_size(); }
  std::int64_t seq_len() const override { return seq_len_; }
  bool reports_perplexity() const override { return true; }
  double chance_accuracy() const override { return 1.0 / double(tokenizer_->vocab_size()); }
  const Tokenizer* tokenizer() const override { return tokenizer_.get(); }

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
  std::unique_ptr<Tokenizer> tokenizer_;
  std::int64_t seq_len_;
  std::int64_t split_;
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

}  // namespace

void register_text_task(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::task, "text", "byte-level language modelling of a text file", {}, {}};
  spec.schema.required("path", ConfigType::string, "the text file (relative: to the current folder or this file)");
  spec.schema.string("tokenizer", "",
                     "a tokenizer.json, tokenizer.model or model folder (relative as path); empty: bytes (256 tokens)");
  spec.schema.integer("seq_len", 128, "tokens per training sequence").range(1, 1 << 20);
  spec.schema.number("valid_fraction", 0.1, "fraction of the file (at its end) held out for evaluation")
      .range(0.001, 0.5);
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
