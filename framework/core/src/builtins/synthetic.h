#pragma once
// Framework-internal: what the synthetic tasks (mqar, selective_copy, induction_heads,
// associative_recall) share: one example at a time written into a batch, a fixed
// evaluation set whose examples each have their own random stream, and small sampling
// helpers on a Generator.
//
// Random streams. Training examples draw from the trainer's data generator, one after
// another. Evaluation example e (the e-th of the fixed set, e = index * batch_size + row)
// draws from key eval_seed at counters [2^63 + e * 2^32, 2^63 + (e + 1) * 2^32): the top
// half of the counter space, which a training stream (counting up from 0) never reaches,
// so no evaluation example can repeat a training draw whatever the seeds. An example's
// content depends only on (eval_seed, e), not on the batch size it was requested with.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "builtins/builtins.h"
#include "strata/components.h"
#include "strata/random.h"
#include "strata/tensor.h"

namespace strata::builtins {

inline constexpr std::int64_t kIgnoreTarget = -100;  // a position that is not scored

__extension__ typedef unsigned __int128 SyntheticU128;  // GCC/Clang extension, for multiply-shift

// Uniform in [0, n), n >= 1 (Lemire's multiply-shift; bias below 2^-44 for n < 2^20).
inline std::int64_t uniform_below(Generator& gen, std::int64_t n) {
  return std::int64_t((SyntheticU128(gen.next_u64()) * std::uint64_t(n)) >> 64);
}

// Uniform in (0, 1]: never 0, so log() of it is finite.
inline double uniform_open0(Generator& gen) { return (double(gen.next_u64() >> 11) + 1.0) * 0x1.0p-53; }

// k distinct values of [0, n), in uniformly random order (k <= n).
inline std::vector<std::int64_t> sample_distinct(Generator& gen, std::int64_t n, std::int64_t k) {
  std::vector<std::int64_t> out;
  out.reserve(std::size_t(k));
  if (n <= 4 * k + 64) {  // partial Fisher-Yates over all of [0, n)
    std::vector<std::int64_t> pool(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) pool[std::size_t(i)] = i;
    for (std::int64_t i = 0; i < k; ++i) {
      std::swap(pool[std::size_t(i)], pool[std::size_t(i + uniform_below(gen, n - i))]);
      out.push_back(pool[std::size_t(i)]);
    }
    return out;
  }
  // k is small next to n: draw and reject repeats (fewer than 1.3 draws per value).
  while (std::int64_t(out.size()) < k) {
    const std::int64_t v = uniform_below(gen, n);
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

// k distinct indices of [0, weights.size()) drawn one after another, each with
// probability proportional to its weight among those not yet drawn (successive sampling,
// the distribution of numpy's choice(replace=False, p=...)); returned in draw order.
// Efraimidis-Spirakis: index i gets the key E_i / w_i with E_i ~ Exp(1); the k smallest
// keys in increasing order have exactly that distribution. One draw per index.
inline std::vector<std::int64_t> sample_weighted_distinct(Generator& gen, const std::vector<double>& weights,
                                                          std::int64_t k) {
  const auto n = std::int64_t(weights.size());
  std::vector<std::pair<double, std::int64_t>> keys(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    keys[std::size_t(i)] = {-std::log(uniform_open0(gen)) / weights[std::size_t(i)], i};
  std::partial_sort(keys.begin(), keys.begin() + k, keys.end());
  std::vector<std::int64_t> out(static_cast<std::size_t>(k));
  for (std::int64_t i = 0; i < k; ++i) out[std::size_t(i)] = keys[std::size_t(i)].second;
  return out;
}

// A task whose examples are independent sequences of a fixed length: subclasses write
// one example; this class assembles training batches and the fixed evaluation set.
//
// train_all_positions: training batches also score next-token prediction at every
// unscored position (target = the next input token), as safari trains its in-context
// tasks; evaluation batches always score only the task's own positions.
class SyntheticTask : public Task {
 public:
  explicit SyntheticTask(std::uint64_t eval_seed, bool train_all_positions = false)
      : eval_seed_(eval_seed), train_all_positions_(train_all_positions) {}

  Batch train_batch(std::int64_t batch_size, Generator& gen) override {
    return assemble(batch_size, train_all_positions_, [&](std::int64_t) -> Generator& { return gen; });
  }

  Batch eval_batch(std::int64_t index, std::int64_t batch_size) override {
    Generator gen(eval_seed_);
    return assemble(batch_size, false, [&](std::int64_t row) -> Generator& {
      gen.set_state(eval_seed_, evaluation_counter(std::uint64_t(index * batch_size + row)));
      return gen;
    });
  }

 protected:
  // Writes one example of length seq_len(): inputs arrive filled with 0, targets with
  // kIgnoreTarget.
  // inputs, targets: [seq_len()]
  virtual void write_example(Generator& gen, std::int64_t* inputs, std::int64_t* targets) const = 0;

 private:
  template <class GenFor>
  Batch assemble(std::int64_t batch_size, bool all_positions, GenFor&& gen_for) const {
    const std::int64_t T = seq_len();
    std::vector<std::int64_t> inputs(std::size_t(batch_size * T), 0);
    std::vector<std::int64_t> targets(std::size_t(batch_size * T), kIgnoreTarget);
    for (std::int64_t b = 0; b < batch_size; ++b) {
      std::int64_t* in = inputs.data() + b * T;
      std::int64_t* tg = targets.data() + b * T;
      write_example(gen_for(b), in, tg);
      if (all_positions) {
        for (std::int64_t t = 0; t + 1 < T; ++t)
          if (tg[t] == kIgnoreTarget) tg[t] = in[t + 1];
      }
    }
    return {Tensor::from_vector(inputs, {batch_size, T}), Tensor::from_vector(targets, {batch_size, T})};
  }

  std::uint64_t eval_seed_;
  bool train_all_positions_;
};

}  // namespace strata::builtins
