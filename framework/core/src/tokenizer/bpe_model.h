#pragma once
// tokenizer.json "model" of type BPE: a piece -> token ids by applying merges in rank
// order (Sennrich et al. 2016; as the `tokenizers` package's BPE: byte_fallback,
// unk_token and fuse_unk, ignore_merges, continuing_subword_prefix, end_of_word_suffix).
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strata::tokenizer {

struct JsonNode;

class BpeModel {
 public:
  explicit BpeModel(const JsonNode& model);

  // Appends the ids of one pre-tokenized piece.
  void encode(const std::string& piece, std::vector<std::int64_t>& ids) const;

  std::optional<std::int64_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(std::int64_t id) const;
  std::int64_t max_id() const { return std::int64_t(tokens_.size()) - 1; }
  std::size_t size() const { return vocab_.size(); }
  const std::vector<std::string>& merges() const { return merge_list_; }  // "left right", by rank
  std::optional<std::int64_t> unk() const { return unk_; }

 private:
  std::vector<std::int64_t> merge_piece(const std::string& piece) const;

  std::unordered_map<std::string, std::int64_t> vocab_;
  std::vector<std::string> tokens_;  // by id; "" where an id is unused
  struct Merge {
    std::int64_t rank, merged;
  };
  std::unordered_map<std::uint64_t, Merge> merges_;  // key: (left id << 32) | right id
  std::vector<std::string> merge_list_;
  std::optional<std::int64_t> unk_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::string prefix_, suffix_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache_;
};

}  // namespace strata::tokenizer
