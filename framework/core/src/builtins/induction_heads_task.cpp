// The built-in `induction_heads` task (Olsson et al. 2022; the Mamba paper's section 4.1.2),
// generated as HazyResearch/safari src/dataloaders/synthetics.py generate_induction_head
// with induction_len 1 and a single trigger.
//
// Tokens: 0..V-2 ordinary, V-1 the trigger (safari's copy prefix "=>"). An example of
// length T = seq_len: T - 1 uniform random ordinary tokens, except that the trigger
// replaces the token at one uniform random position p in [0, T - 3], so that an ordinary
// token follows it; the last token is the trigger again. The only scored position is the
// last: its target is the token at p + 1, the one that followed the first trigger.
// Because seq_len is a key, a model trained at one length is evaluated at others with
// `--set task.seq_len=...` (the Mamba paper's length-extrapolation protocol).
//
// Differences from the reference: safari's input_seq_len L is the random part, so its
// model sees L + 1 tokens (seq_len = L + 1 here), and its vocabulary also holds a no-op
// token "." unused by this task (safari's vocab 20 = 18 ordinary tokens + 2 specials =
// vocab_size 19 here). Safari's first trigger sits in [0, T - 4] (rng.integers(L - 2)), so
// the token just before the final trigger is never its answer; here p may also be T - 3
// (one more valid place, probability 1 / (T - 2)). Safari trains with next-token loss at
// every position and scores only the last; here training scores only the last position
// too, unless train_all_positions is set.
#include "builtins/synthetic.h"

namespace strata::builtins {
namespace {

class InductionHeadsTask : public SyntheticTask {
 public:
  InductionHeadsTask(std::int64_t vocab_size, std::int64_t seq_len, bool train_all_positions, std::uint64_t eval_seed)
      : SyntheticTask(eval_seed, train_all_positions), vocab_size_(vocab_size), seq_len_(seq_len) {}

  std::int64_t vocab_size() const override { return vocab_size_; }
  std::int64_t seq_len() const override { return seq_len_; }
  double chance_accuracy() const override { return 1.0 / double(vocab_size_ - 1); }

 protected:
  void write_example(Generator& gen, std::int64_t* in, std::int64_t* tg) const override {
    const std::int64_t T = seq_len_, trigger = vocab_size_ - 1;
    for (std::int64_t t = 0; t + 1 < T; ++t) in[t] = uniform_below(gen, vocab_size_ - 1);
    const std::int64_t p = uniform_below(gen, T - 2);
    in[p] = trigger;
    in[T - 1] = trigger;
    tg[T - 1] = in[p + 1];
  }

 private:
  std::int64_t vocab_size_, seq_len_;
};

}  // namespace

void register_induction_heads_task(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::task,
                     "induction_heads",
                     "induction heads: after the trigger's second occurrence, output the token that followed its first",
                     {},
                     {}};
  spec.schema.integer("vocab_size", 16, "V: 0..V-2 ordinary tokens, V-1 the trigger (chance 1/(V-1))")
      .range(3, 1 << 20);
  spec.schema.integer("seq_len", 256, "tokens per example; override to evaluate at other lengths").range(3, 1 << 24);
  spec.schema.boolean("train_all_positions", false,
                      "training also scores the next token at every position (as safari trains); eval: the last only");
  spec.schema.integer("eval_seed", 1234, "seed of the fixed evaluation set").at_least(0);
  registry.add(std::move(spec), [](const Config& c, const BuildContext&) -> std::unique_ptr<Component> {
    return std::make_unique<InductionHeadsTask>(c.integer("vocab_size"), c.integer("seq_len"),
                                                c.boolean("train_all_positions"),
                                                std::uint64_t(c.integer("eval_seed")));
  });
}

}  // namespace strata::builtins
