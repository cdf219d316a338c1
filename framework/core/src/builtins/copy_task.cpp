// The built-in `copy` task (the classic copying task of the S4/Mamba papers, not the
// selective variant): M data tokens, then n_blanks blanks, then M markers; at the
// markers the model must output the data tokens in order. Every scored output sits a
// fixed M + n_blanks positions after its source, so the task needs a sequence mixer
// that reaches that far back; a per-token model stays at chance (1 / n_symbols).
//
// Tokens: 0 blank, 1..n_symbols data, n_symbols + 1 marker.
#include "builtins/builtins.h"

namespace strata::builtins {
namespace {

class CopyTask : public Task {
 public:
  CopyTask(std::int64_t n_symbols, std::int64_t copy_len, std::int64_t n_blanks, std::uint64_t eval_seed)
      : n_symbols_(n_symbols), copy_len_(copy_len), n_blanks_(n_blanks), eval_seed_(eval_seed) {}

  std::int64_t vocab_size() const override { return n_symbols_ + 2; }
  std::int64_t seq_len() const override { return 2 * copy_len_ + n_blanks_; }
  double chance_accuracy() const override { return 1.0 / double(n_symbols_); }

  Batch train_batch(std::int64_t batch_size, Generator& gen) override { return make(batch_size, gen); }

  Batch eval_batch(std::int64_t index, std::int64_t batch_size) override {
    Generator gen(eval_seed_);
    gen.set_state(eval_seed_, evaluation_counter(std::uint64_t(index)));  // batch i: its own counter range
    return make(batch_size, gen);
  }

 private:
  Batch make(std::int64_t batch_size, Generator& gen) const {
    const std::int64_t T = seq_len();
    const std::int64_t marker = n_symbols_ + 1;
    std::vector<std::int64_t> inputs(std::size_t(batch_size * T), 0);
    std::vector<std::int64_t> targets(std::size_t(batch_size * T), -100);
    for (std::int64_t b = 0; b < batch_size; ++b) {
      std::int64_t* in = inputs.data() + b * T;
      std::int64_t* tg = targets.data() + b * T;
      for (std::int64_t i = 0; i < copy_len_; ++i) {
        const auto token = 1 + std::int64_t(gen.next_u64() % std::uint64_t(n_symbols_));
        in[i] = token;
        in[copy_len_ + n_blanks_ + i] = marker;
        tg[copy_len_ + n_blanks_ + i] = token;
      }
    }
    return {Tensor::from_vector(inputs, {batch_size, T}), Tensor::from_vector(targets, {batch_size, T})};
  }

  std::int64_t n_symbols_, copy_len_, n_blanks_;
  std::uint64_t eval_seed_;
};

}  // namespace

void register_copy_task(ComponentRegistry& registry) {
  ComponentSpec spec{
      ComponentKind::task, "copy", "copy M data tokens across n_blanks blanks to the marker positions", {}, {}};
  spec.schema.integer("n_symbols", 8, "size of the data alphabet (chance accuracy is 1/n_symbols)").range(2, 1 << 20);
  spec.schema.integer("copy_len", 8, "M, data tokens per sequence").range(1, 1 << 20);
  spec.schema.integer("n_blanks", 0, "blanks between the data and the markers").range(0, 1 << 24);
  spec.schema.integer("eval_seed", 1234, "seed of the fixed evaluation set").at_least(0);
  registry.add(std::move(spec), [](const Config& c, const BuildContext&) -> std::unique_ptr<Component> {
    return std::make_unique<CopyTask>(c.integer("n_symbols"), c.integer("copy_len"), c.integer("n_blanks"),
                                      std::uint64_t(c.integer("eval_seed")));
  });
}

}  // namespace strata::builtins
