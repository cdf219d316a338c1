// The built-in `mqar` task: multi-query associative recall as the Zoology benchmark
// defines it (Arora, Eyuboglu et al. 2023, arXiv 2312.04927; HazyResearch/zoology
// zoology/data/multiquery_ar.py, multiquery_ar()).
//
// Each example of length S = seq_len:
//   k_1 v_1 k_2 v_2 ... k_K v_K      (repeated num_passes times: c = 2 K num_passes tokens)
//   then (S - c) / 2 two-token slots; K distinct slots j are drawn with probability
//   proportional to (j + 1)^(power_a - 1) (short gaps are likelier), and key k_i is written
//   at position c + 2 j_i. Every key is queried exactly once.
// Keys are K distinct tokens of [1, V/2), values K distinct tokens of [V/2, V). The target
// at a query position is the value paired with that key (the value itself is not written
// after the query); every other target is -100. All remaining positions (the second token
// of every slot and the unqueried slots) are 0, or uniform random tokens of [0, V) when
// random_non_queries is set.
//
// Differences from the reference, on purpose: examples are drawn fresh every step from
// the trainer's generator (Zoology fixes 100,000 training examples) and the evaluation
// set is drawn from eval_seed; Zoology's assertion vocab_size > seq_len is not required
// (the real limits, checked here, are the K distinct keys and values and the length).
#include <cmath>

#include "builtins/synthetic.h"

namespace strata::builtins {
namespace {

class MqarTask : public SyntheticTask {
 public:
  MqarTask(std::int64_t vocab_size, std::int64_t seq_len, std::int64_t num_kv_pairs, std::int64_t num_passes,
           double power_a, bool random_non_queries, std::uint64_t eval_seed)
      : SyntheticTask(eval_seed),
        vocab_size_(vocab_size),
        seq_len_(seq_len),
        num_kv_pairs_(num_kv_pairs),
        num_passes_(num_passes),
        random_non_queries_(random_non_queries) {
    const std::int64_t slots = (seq_len - context_len()) / 2;
    gap_weights_.resize(std::size_t(slots));
    for (std::int64_t j = 0; j < slots; ++j) gap_weights_[std::size_t(j)] = std::pow(double(j + 1), power_a - 1.0);
  }

  std::int64_t vocab_size() const override { return vocab_size_; }
  std::int64_t seq_len() const override { return seq_len_; }
  // Uniform over the value half of the vocabulary. (A model that only knows the answer
  // is one of the K values in its context gets 1/K.)
  double chance_accuracy() const override { return 1.0 / double(vocab_size_ - vocab_size_ / 2); }

 protected:
  void write_example(Generator& gen, std::int64_t* in, std::int64_t* tg) const override {
    const std::int64_t K = num_kv_pairs_, half = vocab_size_ / 2, c = context_len();
    std::vector<std::int64_t> keys = sample_distinct(gen, half - 1, K);
    std::vector<std::int64_t> values = sample_distinct(gen, vocab_size_ - half, K);
    for (std::int64_t i = 0; i < K; ++i) {
      keys[std::size_t(i)] += 1;
      values[std::size_t(i)] += half;
    }
    for (std::int64_t pass = 0; pass < num_passes_; ++pass) {
      for (std::int64_t i = 0; i < K; ++i) {
        in[pass * 2 * K + 2 * i] = keys[std::size_t(i)];
        in[pass * 2 * K + 2 * i + 1] = values[std::size_t(i)];
      }
    }
    const std::vector<std::int64_t> slots = sample_weighted_distinct(gen, gap_weights_, K);
    for (std::int64_t i = 0; i < K; ++i) {
      const std::int64_t at = c + 2 * slots[std::size_t(i)];
      in[at] = keys[std::size_t(i)];
      tg[at] = values[std::size_t(i)];
    }
    if (random_non_queries_) {
      for (std::int64_t t = 0; t < seq_len_; ++t)
        if (in[t] == 0) in[t] = uniform_below(gen, vocab_size_);
    }
  }

 private:
  std::int64_t context_len() const { return 2 * num_kv_pairs_ * num_passes_; }

  std::int64_t vocab_size_, seq_len_, num_kv_pairs_, num_passes_;
  bool random_non_queries_;
  std::vector<double> gap_weights_;  // [(seq_len - context) / 2]: (j + 1)^(power_a - 1)
};

}  // namespace

void register_mqar_task(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::task,
                     "mqar",
                     "multi-query associative recall (Zoology): K key-value pairs, then every key queried once",
                     {},
                     {}};
  spec.schema.integer("vocab_size", 8192, "V: keys from [1, V/2), values from [V/2, V)").range(4, 1 << 24);
  spec.schema.integer("seq_len", 64, "S, tokens per example (even; Zoology's input_seq_len)").range(4, 1 << 24);
  spec.schema.integer("num_kv_pairs", 8, "K, key-value pairs per example (distinct keys; each queried once)")
      .range(1, 1 << 20);
  spec.schema.integer("num_passes", 1, "times the K pairs are repeated before the queries (JRT variant)").range(1, 64);
  spec.schema.number("power_a", 0.01, "query slot j is drawn with weight (j + 1)^(power_a - 1); 1: uniform")
      .greater_than(0)
      .at_most(4);
  spec.schema.boolean("random_non_queries", true, "fill non-query positions with uniform random tokens (else 0)");
  spec.schema.integer("eval_seed", 1234, "seed of the fixed evaluation set").at_least(0);
  registry.add(std::move(spec), [](const Config& c, const BuildContext&) -> std::unique_ptr<Component> {
    const std::int64_t V = c.integer("vocab_size"), S = c.integer("seq_len"), K = c.integer("num_kv_pairs"),
                       passes = c.integer("num_passes");
    if (S % 2 != 0) {
      throw c.error("seq_len", "seq_len = " + std::to_string(S) + " is odd; the queries sit in two-token slots",
                    "use an even seq_len, e.g. " + std::to_string(S + 1));
    }
    if (K > V / 2 - 1) {
      throw c.error(
          "num_kv_pairs",
          "num_kv_pairs = " + std::to_string(K) + " distinct keys do not fit in the " + std::to_string(V / 2 - 1) +
              " key tokens [1, " + std::to_string(V / 2) + ") of vocab_size = " + std::to_string(V),
          "use num_kv_pairs <= " + std::to_string(V / 2 - 1) + " or vocab_size >= " + std::to_string(2 * K + 2));
    }
    const std::int64_t needed = 2 * K * passes + 2 * K;
    if (needed > S) {
      throw c.error("seq_len",
                    "seq_len = " + std::to_string(S) + " is too short for num_kv_pairs = " + std::to_string(K) +
                        " and num_passes = " + std::to_string(passes) + ": the pairs take " +
                        std::to_string(2 * K * passes) + " tokens and the queries " + std::to_string(2 * K),
                    "use seq_len >= " + std::to_string(needed) + " or fewer pairs");
    }
    return std::make_unique<MqarTask>(V, S, K, passes, c.number("power_a"), c.boolean("random_non_queries"),
                                      std::uint64_t(c.integer("eval_seed")));
  });
}

}  // namespace strata::builtins
