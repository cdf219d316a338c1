// The built-in `associative_recall` task of H3 and Hyena, generated as
// HazyResearch/safari src/dataloaders/synthetics.py generate_assoc_recall.
//
// Tokens for vocab_size V: n = V - 2 ordinary tokens, keys 0..n/2-1 and values n/2..n-1;
// V-2 the query prefix (safari's "=>"), V-1 the no-op answer (safari's "."). A key is a
// tuple of num_keys key tokens. Per example a fresh random map sends every key to a
// uniform random value (values may repeat). The example is P = (seq_len - 1 - num_keys) /
// (num_keys + 1) pairs "key value" with keys drawn uniformly (with repetition), then "=>"
// and a query key. The only scored position is the last: its target is the query's value.
// The query is a key present in the pairs; with allow_dot it is any key, and the answer
// to an absent key is the no-op token.
//
// Differences from the reference: safari's input_seq_len (40 in its configs) counts the
// pairs, and its model sees input_seq_len + 1 + num_keys tokens: seq_len here (42 for
// safari's default). Safari draws a fixed set of distinct examples and trains with
// next-token loss at every position; here examples are fresh every step, and training
// scores only the answer unless train_all_positions is set (then every position, as
// safari). Evaluation always scores only the answer, as safari's test set.
#include <map>

#include "builtins/synthetic.h"

namespace strata::builtins {
namespace {

class AssociativeRecallTask : public SyntheticTask {
 public:
  AssociativeRecallTask(std::int64_t vocab_size, std::int64_t seq_len, std::int64_t num_keys, bool allow_dot,
                        bool train_all_positions, std::uint64_t eval_seed)
      : SyntheticTask(eval_seed, train_all_positions),
        vocab_size_(vocab_size),
        seq_len_(seq_len),
        num_keys_(num_keys),
        allow_dot_(allow_dot) {}

  std::int64_t vocab_size() const override { return vocab_size_; }
  std::int64_t seq_len() const override { return seq_len_; }
  double chance_accuracy() const override { return 1.0 / double(n_values() + (allow_dot_ ? 1 : 0)); }

 protected:
  void write_example(Generator& gen, std::int64_t* in, std::int64_t* tg) const override {
    const std::int64_t n_keys = (vocab_size_ - 2) / 2, pairs = (seq_len_ - 1 - num_keys_) / (num_keys_ + 1);
    using Key = std::vector<std::int64_t>;
    const auto draw_key = [&] {
      Key key(static_cast<std::size_t>(num_keys_));
      for (auto& token : key) token = uniform_below(gen, n_keys);
      return key;
    };
    // The map is drawn lazily: a key's value on first use (the same distribution as
    // safari's map over every key, which is independent per key).
    std::map<Key, std::int64_t> value_of;
    std::vector<const Key*> present;
    std::int64_t t = 0;
    for (std::int64_t i = 0; i < pairs; ++i) {
      Key key = draw_key();
      auto [it, added] = value_of.try_emplace(std::move(key), 0);
      if (added) {
        it->second = n_keys + uniform_below(gen, n_values());
        present.push_back(&it->first);
      }
      for (std::int64_t token : it->first) in[t++] = token;
      in[t++] = it->second;
    }
    in[t++] = vocab_size_ - 2;  // "=>"
    std::int64_t answer = 0;
    if (allow_dot_) {
      const Key query = draw_key();
      const auto it = value_of.find(query);
      answer = it == value_of.end() ? vocab_size_ - 1 : it->second;
      for (std::int64_t token : query) in[t++] = token;
    } else {
      const Key& query = *present[std::size_t(uniform_below(gen, std::int64_t(present.size())))];
      answer = value_of.at(query);
      for (std::int64_t token : query) in[t++] = token;
    }
    tg[seq_len_ - 1] = answer;
  }

 private:
  std::int64_t n_values() const { return (vocab_size_ - 2) - (vocab_size_ - 2) / 2; }

  std::int64_t vocab_size_, seq_len_, num_keys_;
  bool allow_dot_;
};

}  // namespace

void register_associative_recall_task(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::task,
                     "associative_recall",
                     "associative recall (H3/Hyena): key-value pairs, then a query key; output its value",
                     {},
                     {}};
  spec.schema.integer("vocab_size", 20, "V: keys and values split V-2 tokens in halves; V-2 \"=>\", V-1 no-op")
      .range(4, 1 << 20);
  spec.schema.integer("seq_len", 42, "tokens per example: (num_keys + 1) per pair, then \"=>\" and the query key")
      .range(3, 1 << 24);
  spec.schema.integer("num_keys", 1, "key tokens per key (safari's num_keys)").range(1, 16);
  spec.schema.boolean("allow_dot", false, "query any key; an absent one is answered by the no-op token");
  spec.schema.boolean(
      "train_all_positions", false,
      "training also scores the next token at every position (as safari trains); eval: the answer only");
  spec.schema.integer("eval_seed", 1234, "seed of the fixed evaluation set").at_least(0);
  registry.add(std::move(spec), [](const Config& c, const BuildContext&) -> std::unique_ptr<Component> {
    const std::int64_t T = c.integer("seq_len"), nk = c.integer("num_keys");
    const std::int64_t body = T - 1 - nk;  // the pairs; then "=>" and the query key
    if (body < nk + 1 || body % (nk + 1) != 0) {
      const std::int64_t pairs = std::max<std::int64_t>(1, body / (nk + 1));
      const auto length = [&](std::int64_t p) { return std::to_string(p * (nk + 1) + 1 + nk); };
      throw c.error("seq_len",
                    "seq_len = " + std::to_string(T) + " is not P pairs of " + std::to_string(nk + 1) +
                        " tokens plus \"=>\" and a " + std::to_string(nk) + "-token query (P >= 1)",
                    "use seq_len = " + length(pairs) + " or " + length(pairs + 1));
    }
    return std::make_unique<AssociativeRecallTask>(c.integer("vocab_size"), T, nk, c.boolean("allow_dot"),
                                                   c.boolean("train_all_positions"),
                                                   std::uint64_t(c.integer("eval_seed")));
  });
}

}  // namespace strata::builtins
