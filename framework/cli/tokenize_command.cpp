// strata tokenize: a model's tokenizer from the command line (and for side-by-side checks
// against other tokenizer libraries, bench/tokenizers).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "cli/token_input.h"
#include "strata/tokenizer.h"

namespace strata::cli {

int tokenize_command(const TokenizeOptions& options) {
  const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(options.tokenizer);
  if (!options.decode.empty()) {
    const Tensor ids = read_token_ids(options.decode, tokenizer->vocab_size(), "--decode");
    std::cout << tokenizer->decode(ids.to_vector<std::int64_t>(), !options.special) << "\n";
    return kOk;
  }
  std::string text = options.text;
  if (!options.file.empty()) {
    std::ifstream in(options.file, std::ios::binary);
    if (!in) throw UsageError("--file: cannot read " + options.file, "check the path");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else if (options.text.empty()) {
    throw UsageError("tokenize needs --text, --file or --decode");
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::int64_t> ids;
  try {
    ids = tokenizer->encode(text, options.special);
  } catch (const ValueError& e) {
    throw UsageError((options.file.empty() ? "--text: " : options.file + ": ") + e.message(), e.hint());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string line;
  for (std::size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  std::cout << line << "\n";
  char stats[200];
  std::snprintf(stats, sizeof stats, "%zu tokens from %zu bytes (%s) in %.1f ms, %.1f MB/s\n", ids.size(), text.size(),
                tokenizer->describe().c_str(), seconds * 1e3, seconds > 0 ? double(text.size()) / seconds / 1e6 : 0.0);
  std::cerr << stats;
  return kOk;
}

}  // namespace strata::cli
