#include "cli/token_input.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "strata/npy.h"
#include "strata/safetensors.h"

namespace strata::cli {

namespace fs = std::filesystem;

namespace {

// "1 2 3" / "1,2,3" -> ids; `where` names the source in errors.
std::vector<std::int64_t> parse_ids(const std::string& text, const std::string& where) {
  std::string spaced = text;
  for (char& c : spaced)
    if (c == ',') c = ' ';
  std::istringstream in(spaced);
  std::vector<std::int64_t> ids;
  std::string word;
  while (in >> word) {
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size())
      throw UsageError(where + ": '" + word + "' is not a token id", "token ids are integers, e.g. \"5 3 9 1\"");
    ids.push_back(value);
  }
  return ids;
}

Tensor from_rows(const std::vector<std::vector<std::int64_t>>& rows, const std::string& where) {
  if (rows.empty() || rows[0].empty()) throw UsageError(where + ": no token ids", "give at least one id");
  for (std::size_t r = 1; r < rows.size(); ++r)
    if (rows[r].size() != rows[0].size())
      throw UsageError(where + ": sequence " + std::to_string(r + 1) + " has " + std::to_string(rows[r].size()) +
                           " ids, sequence 1 has " + std::to_string(rows[0].size()),
                       "all sequences of a batch have the same length");
  std::vector<std::int64_t> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return Tensor::from_vector(flat, {std::int64_t(rows.size()), std::int64_t(rows[0].size())});
}

Tensor as_batch(Tensor ids, const std::string& where) {
  if (ids.dtype() != DType::i64)
    throw FileFormatError(where + ": token ids must be integers, the file holds " + std::string(dtype_name(ids.dtype())));
  if (ids.rank() == 1) ids = ids.reshape({1, ids.size(0)});
  if (ids.rank() != 2 || ids.size(1) < 1)
    throw FileFormatError(where + ": token ids must be [T] or [B, T] with T >= 1, the file holds " +
                          ids.shape().to_string());
  return ids.contiguous();
}

}  // namespace

Tensor read_token_ids(const std::string& spec, std::int64_t vocab_size, const std::string& option) {
  std::error_code ec;
  Tensor ids;
  std::string where = option;
  if (fs::is_regular_file(spec, ec)) {
    where = spec;
    const std::string ext = fs::path(spec).extension().string();
    if (ext == ".npy") {
      ids = as_batch(read_npy(spec), where);
    } else if (ext == ".safetensors") {
      const safetensors::Reader reader(spec);
      std::string name = "input_ids";
      if (!reader.find(name)) {
        if (reader.tensors().size() != 1)
          throw FileFormatError(spec + ": has no tensor 'input_ids' and more than one tensor",
                                "name the token ids 'input_ids'");
        name = reader.tensors()[0].name;
      }
      ids = as_batch(reader.load(name), where + " (" + name + ")");
    } else {
      std::ifstream in(spec);
      std::vector<std::vector<std::int64_t>> rows;
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        auto row = parse_ids(line, spec + ":" + std::to_string(number));
        if (!row.empty()) rows.push_back(std::move(row));
      }
      ids = from_rows(rows, spec);
    }
  } else if (spec.find_first_not_of("0123456789 ,;\t\n-") != std::string::npos) {
    throw UsageError(option + ": no such file: " + spec, "give a list of ids (\"5 3 9\") or an existing file");
  } else {
    std::vector<std::vector<std::int64_t>> rows;
    std::stringstream in(spec);
    std::string part;
    while (std::getline(in, part, ';')) rows.push_back(parse_ids(part, option));
    ids = from_rows(rows, option);
  }
  const auto values = ids.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < 0 || values[i] >= vocab_size)
      throw UsageError(where + ": token id " + std::to_string(values[i]) + " (sequence " +
                           std::to_string(i / std::size_t(ids.size(1)) + 1) + ", position " +
                           std::to_string(i % std::size_t(ids.size(1))) + ") is outside the vocabulary [0, " +
                           std::to_string(vocab_size) + ")");
  }
  return ids;
}

std::shared_ptr<const Tokenizer> text_tokenizer(const LoadedCheckpoint& checkpoint, const std::string& override_path) {
  try {
    return checkpoint_tokenizer(checkpoint, override_path);
  } catch (const ValueError& e) {
    throw UsageError(e.message(), e.hint());
  }
}

Tensor encode_text(const Tokenizer& tokenizer, const std::string& text, std::int64_t vocab_size,
                   const std::string& option) {
  std::vector<std::int64_t> ids;
  try {
    ids = tokenizer.encode(text, true);
  } catch (const ValueError& e) {
    throw UsageError(option + ": " + e.message(), e.hint());
  }
  if (ids.empty()) throw UsageError(option + ": the text gives no tokens", "give some text");
  for (std::int64_t id : ids)
    if (id >= vocab_size)
      throw UsageError(option + ": the tokenizer gives token " + std::to_string(id) + ", but the model has " +
                           std::to_string(vocab_size) + " tokens (" + tokenizer.describe() + ")",
                       "use the tokenizer the model was trained with (--tokenizer)");
  return Tensor::from_vector(ids, {1, std::int64_t(ids.size())});
}

}  // namespace strata::cli
