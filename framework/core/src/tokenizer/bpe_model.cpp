#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <functional>
#include <limits>
#include <queue>

#include "tokenizer/json_node.h"
#include "tokenizer/utf8.h"

namespace strata::tokenizer {
namespace {

std::uint64_t pair_key(std::int64_t left, std::int64_t right) {
  return (std::uint64_t(left) << 32) | std::uint64_t(right);
}

}  // namespace

BpeModel::BpeModel(const JsonNode& model) {
  if (model.has("dropout") && (!model["dropout"].value.is_number() || model["dropout"].value.get<double>() > 0.0))
    model["dropout"].fail("BPE dropout is a training-time regularizer", "set \"dropout\": null to use the tokenizer");
  const JsonNode vocab = model["vocab"];
  if (!vocab.value.is_object()) vocab.fail("expected an object of token -> id");
  for (const auto& [token, id] : vocab.value.items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() >= (std::int64_t(1) << 31))
      vocab.fail("token \"" + token + "\" has id " + id.dump() + ", not an id in [0, 2^31)");
    const std::int64_t i = id.get<std::int64_t>();
    vocab_.emplace(token, i);
    if (std::size_t(i) >= tokens_.size()) tokens_.resize(std::size_t(i) + 1);
    tokens_[std::size_t(i)] = token;
  }
  prefix_ = model.string_or("continuing_subword_prefix", "");
  suffix_ = model.string_or("end_of_word_suffix", "");
  fuse_unk_ = model.boolean_or("fuse_unk", false);
  byte_fallback_ = model.boolean_or("byte_fallback", false);
  ignore_merges_ = model.boolean_or("ignore_merges", false);
  if (model.has("unk_token")) {
    const std::string unk = model["unk_token"].string();
    const auto it = vocab_.find(unk);
    if (it == vocab_.end()) model["unk_token"].fail("unk_token \"" + unk + "\" is not in the vocabulary");
    unk_ = it->second;
  }

  const JsonNode merges = model["merges"];
  for (std::size_t rank = 0; rank < merges.value.size(); ++rank) {
    const JsonNode m = merges[rank];
    std::string left, right;
    if (m.value.is_string()) {  // "a b" (tokenizers < 0.20)
      const std::string line = m.string();
      const std::size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        m.fail("a merge is two tokens separated by one space, found \"" + line + "\"");
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else if (m.value.is_array() && m.value.size() == 2) {  // ["a", "b"]
      left = m[0].string();
      right = m[1].string();
    } else {
      m.fail("a merge is \"a b\" or [\"a\", \"b\"]");
    }
    const auto l = vocab_.find(left), r = vocab_.find(right);
    const std::string merged = left + (right.size() >= prefix_.size() ? right.substr(prefix_.size()) : std::string());
    const auto n = vocab_.find(merged);
    if (l == vocab_.end() || r == vocab_.end() || n == vocab_.end())
      m.fail("merge of \"" + left + "\" and \"" + right + "\" uses a token that is not in the vocabulary");
    merges_.try_emplace(pair_key(l->second, r->second), Merge{std::int64_t(rank), n->second});
    merge_list_.push_back(left + " " + right);
  }
}

std::optional<std::int64_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(std::int64_t id) const {
  if (id < 0 || std::size_t(id) >= tokens_.size() || tokens_[std::size_t(id)].empty()) return nullptr;
  return &tokens_[std::size_t(id)];
}

void BpeModel::encode(const std::string& piece, std::vector<std::int64_t>& ids) const {
  if (ignore_merges_)
    if (const auto it = vocab_.find(piece); it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  {
    const std::lock_guard<std::mutex> lock(cache_mutex_);
    if (const auto it = cache_.find(piece); it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int64_t> merged = merge_piece(piece);
  ids.insert(ids.end(), merged.begin(), merged.end());
  if (piece.size() <= 256) {
    const std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() > 100000) cache_.clear();
    cache_.emplace(piece, std::move(merged));
  }
}

std::vector<std::int64_t> BpeModel::merge_piece(const std::string& piece) const {
  // The piece's characters (or their bytes, or unk) as initial symbols.
  std::vector<std::int64_t> symbols;
  std::optional<std::int64_t> pending_unk;
  for (std::size_t at = 0; at < piece.size();) {
    const std::size_t begin = at;
    at += utf8_length(static_cast<unsigned char>(piece[at]));
    std::string s = piece.substr(begin, at - begin);
    if (begin > 0) s = prefix_ + s;
    if (at >= piece.size()) s += suffix_;
    if (const auto it = vocab_.find(s); it != vocab_.end()) {
      if (pending_unk) symbols.push_back(*std::exchange(pending_unk, std::nullopt));
      symbols.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      std::vector<std::int64_t> bytes;
      for (unsigned char b : s) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        const auto it = vocab_.find(name);
        if (it == vocab_.end()) break;
        bytes.push_back(it->second);
      }
      if (bytes.size() == s.size()) {
        symbols.insert(symbols.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    if (unk_) {
      if (pending_unk && !fuse_unk_) symbols.push_back(*pending_unk);
      pending_unk = unk_;
    }
  }
  if (pending_unk) symbols.push_back(*pending_unk);

  // Merge the adjacent pair of lowest rank (leftmost on ties) until none is mergeable: a
  // heap of candidate pairs over a linked list of symbols, O(n log n) for pieces of any
  // length (a tokenizer without a pre-tokenizer, as Llama 2's, sees whole lines).
  const auto n = std::int64_t(symbols.size());
  std::vector<std::int64_t> next(static_cast<std::size_t>(n)), prev(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    next[std::size_t(i)] = i + 1 < n ? i + 1 : -1;
    prev[std::size_t(i)] = i - 1;
  }
  using Candidate = std::pair<std::int64_t, std::int64_t>;  // (rank, left symbol's position)
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto push = [&](std::int64_t left) {
    if (left < 0 || next[std::size_t(left)] < 0) return;
    const auto it = merges_.find(pair_key(symbols[std::size_t(left)], symbols[std::size_t(next[std::size_t(left)])]));
    if (it != merges_.end()) heap.emplace(it->second.rank, left);
  };
  for (std::int64_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> gone(static_cast<std::size_t>(n), false);
  while (!heap.empty()) {
    const auto [rank, left] = heap.top();
    heap.pop();
    const std::int64_t right = next[std::size_t(left)];
    if (gone[std::size_t(left)] || right < 0) continue;
    const auto it = merges_.find(pair_key(symbols[std::size_t(left)], symbols[std::size_t(right)]));
    if (it == merges_.end() || it->second.rank != rank) continue;  // a stale candidate
    symbols[std::size_t(left)] = it->second.merged;
    gone[std::size_t(right)] = true;
    next[std::size_t(left)] = next[std::size_t(right)];
    if (next[std::size_t(right)] >= 0) prev[std::size_t(next[std::size_t(right)])] = left;
    push(prev[std::size_t(left)]);
    push(left);
  }
  std::vector<std::int64_t> merged;
  for (std::int64_t i = n > 0 ? 0 : -1; i >= 0; i = next[std::size_t(i)]) merged.push_back(symbols[std::size_t(i)]);
  symbols = std::move(merged);
  return symbols;
}

}  // namespace strata::tokenizer
