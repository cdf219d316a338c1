// The built-in `selective_copy` task: the selective copying task of the Mamba paper
// (Gu & Dao 2023, arXiv 2312.00752, section 4.1.1), generated as state-spaces/s4
// src/dataloaders/datasets/copying.py torch_copying_data(L, M, A, variable=True).
//
// Alphabet of A = vocab_size tokens: 0 noise, 1..A-2 data, A-1 marker. An example of
// length seq_len = L + 2M: M data tokens (uniform, independent) written in order at M
// distinct random positions of the first L + M tokens (the rest noise), then M markers.
// At the i-th marker the target is the i-th data token; every other target is -100.
// Unlike the classic `copy` task the data positions vary per example, so a model must
// select the data tokens by content (what a time-invariant convolution or SSM cannot).
//
// Differences from the reference: s4's L is the number of noise tokens; here the total
// length seq_len is the key (L = seq_len - 2 n_data) so that evaluation at another length
// is one override. s4's model reads its outputs at the last M positions; here those are
// the scored positions of an ordinary next-token model.
#include <algorithm>

#include "builtins/synthetic.h"

namespace strata::builtins {
namespace {

class SelectiveCopyTask : public SyntheticTask {
 public:
  SelectiveCopyTask(std::int64_t vocab_size, std::int64_t seq_len, std::int64_t n_data, std::uint64_t eval_seed)
      : SyntheticTask(eval_seed), vocab_size_(vocab_size), seq_len_(seq_len), n_data_(n_data) {}

  std::int64_t vocab_size() const override { return vocab_size_; }
  std::int64_t seq_len() const override { return seq_len_; }
  double chance_accuracy() const override { return 1.0 / double(vocab_size_ - 2); }

 protected:
  void write_example(Generator& gen, std::int64_t* in, std::int64_t* tg) const override {
    const std::int64_t M = n_data_, region = seq_len_ - M, marker = vocab_size_ - 1;
    std::vector<std::int64_t> tokens(static_cast<std::size_t>(M));
    for (auto& token : tokens) token = 1 + uniform_below(gen, vocab_size_ - 2);
    std::vector<std::int64_t> positions = sample_distinct(gen, region, M);
    std::sort(positions.begin(), positions.end());
    for (std::int64_t i = 0; i < M; ++i) {
      in[positions[std::size_t(i)]] = tokens[std::size_t(i)];
      in[region + i] = marker;
      tg[region + i] = tokens[std::size_t(i)];
    }
  }

 private:
  std::int64_t vocab_size_, seq_len_, n_data_;
};

}  // namespace

void register_selective_copy_task(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::task,
                     "selective_copy",
                     "selective copying (Mamba): data tokens scattered among noise, output in order at the markers",
                     {},
                     {}};
  spec.schema.integer("vocab_size", 16, "A: 0 noise, 1..A-2 data, A-1 marker (chance 1/(A-2))").range(3, 1 << 20);
  spec.schema.integer("seq_len", 4096, "total tokens: L noise + M data in the data region, then M markers")
      .range(2, 1 << 24);
  spec.schema.integer("n_data", 16, "M, data tokens to copy").range(1, 1 << 20);
  spec.schema.integer("eval_seed", 1234, "seed of the fixed evaluation set").at_least(0);
  registry.add(std::move(spec), [](const Config& c, const BuildContext&) -> std::unique_ptr<Component> {
    const std::int64_t T = c.integer("seq_len"), M = c.integer("n_data");
    if (2 * M > T) {
      throw c.error("seq_len",
                    "seq_len = " + std::to_string(T) + " cannot hold n_data = " + std::to_string(M) +
                        " data tokens and as many markers",
                    "use seq_len >= " + std::to_string(2 * M) + " (2 n_data; more adds noise tokens)");
    }
    return std::make_unique<SelectiveCopyTask>(c.integer("vocab_size"), T, M, std::uint64_t(c.integer("eval_seed")));
  });
}

}  // namespace strata::builtins
