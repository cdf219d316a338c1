#include "baseline_routers.h"

#include <strata/error.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "routing.h"

namespace strata::moe_plugin {

namespace {

// A routing of fixed expert ids [N, k] with gates 1/k and uniform probabilities.
Routing fixed_routing(std::vector<std::int64_t> ids, std::int64_t N, std::int64_t E, std::int64_t k, DType dtype,
                      Device device) {
  Routing r;
  r.n_experts = E;
  r.top_k = k;
  r.expert_ids = Tensor::from_vector(ids, {N, k}).to(device);
  r.gates = Tensor::full({N, k}, 1.0 / double(k), dtype, device);
  r.probs = Tensor::full({N, E}, 1.0 / double(E), dtype, device);
  r.logits = Tensor::zeros({N, E}, dtype, device);
  r.counts = count_experts(r.expert_ids, E);
  return r;
}

// k distinct experts of E drawn uniformly (a partial Fisher-Yates shuffle).
void draw_distinct(Generator& gen, std::int64_t E, std::int64_t k, std::int64_t* out) {
  std::vector<std::int64_t> pool(static_cast<std::size_t>(E));
  std::iota(pool.begin(), pool.end(), 0);
  for (std::int64_t j = 0; j < k; ++j) {
    const std::int64_t pick = j + std::int64_t(gen.next_u64() % std::uint64_t(E - j));
    std::swap(pool[std::size_t(j)], pool[std::size_t(pick)]);
    out[j] = pool[std::size_t(j)];
  }
}

class HashRouter : public Router {
 public:
  HashRouter(std::int64_t vocab, std::int64_t E, std::int64_t k, Generator& gen) : E_(E), k_(k) {
    table_.resize(std::size_t(std::max<std::int64_t>(vocab, 1) * k));
    for (std::int64_t v = 0; v < std::max<std::int64_t>(vocab, 1); ++v) draw_distinct(gen, E, k, table_.data() + v * k);
  }
  Routing route(const Tensor& x, StepContext& ctx) override {
    const std::int64_t N = x.size(0);
    if (!ctx.token_ids().defined() || ctx.token_ids().numel() != N)
      throw ValueError("hash router: needs the token ids of the forward (" + std::to_string(N) + " tokens)",
                       "the hash router works inside a model, which passes the ids; use another router elsewhere");
    const std::int64_t vocab = std::int64_t(table_.size()) / k_;
    std::vector<std::int64_t> ids(std::size_t(N * k_));
    const std::vector<std::int64_t> tokens = ctx.token_ids().to_vector<std::int64_t>();
    for (std::int64_t t = 0; t < N; ++t)
      std::copy_n(table_.data() + (tokens[std::size_t(t)] % vocab) * k_, k_, ids.data() + t * k_);
    return fixed_routing(std::move(ids), N, E_, k_, x.dtype(), x.device());
  }

 private:
  std::int64_t E_, k_;
  std::vector<std::int64_t> table_;  // [vocab, k]
};

class RandomRouter : public Router {
 public:
  RandomRouter(std::int64_t E, std::int64_t k, std::uint64_t seed) : E_(E), k_(k), seed_(seed) {}
  // Training draws from the step's generator; evaluation from a fixed seed, so that
  // evaluations repeat exactly.
  Routing route(const Tensor& x, StepContext& ctx) override {
    const std::int64_t N = x.size(0);
    Generator fixed(seed_);
    Generator& gen = ctx.training() && ctx.generator() ? *ctx.generator() : fixed;
    std::vector<std::int64_t> ids(std::size_t(N * k_));
    for (std::int64_t t = 0; t < N; ++t) draw_distinct(gen, E_, k_, ids.data() + t * k_);
    return fixed_routing(std::move(ids), N, E_, k_, x.dtype(), x.device());
  }

 private:
  std::int64_t E_, k_;
  std::uint64_t seed_;
};

class UniformRouter : public Router {
 public:
  UniformRouter(std::int64_t E, std::int64_t k) : E_(E), k_(k) {}
  Routing route(const Tensor& x, StepContext&) override {
    const std::int64_t N = x.size(0);
    std::vector<std::int64_t> ids(std::size_t(N * k_));
    for (std::int64_t s = 0; s < N * k_; ++s) ids[std::size_t(s)] = s % E_;
    return fixed_routing(std::move(ids), N, E_, k_, x.dtype(), x.device());
  }

 private:
  std::int64_t E_, k_;
};

}  // namespace

void register_baseline_routers(PluginRegistrar& registrar) {
  registrar.add<Router>("hash", "token id -> a fixed random set of top_k experts (hash layers); gates 1/top_k",
                        ConfigSchema{}, [](const Config& c, const BuildContext& ctx) {
                          return std::make_unique<HashRouter>(ctx.dims.vocab_size, parent_experts(ctx, c), parent_top_k(ctx, c), *ctx.gen);
                        });
  ConfigSchema random;
  random.integer("seed", 0, "seed of the draws in evaluation (training uses the step's generator)").at_least(0);
  registrar.add<Router>("random", "top_k distinct experts drawn uniformly per token; gates 1/top_k", random,
                        [](const Config& c, const BuildContext& ctx) {
                          return std::make_unique<RandomRouter>(parent_experts(ctx, c), parent_top_k(ctx, c), std::uint64_t(c.integer("seed")));
                        });
  registrar.add<Router>("uniform", "forced perfect balance: slot t*k+j goes to expert (t*k+j) mod E; gates 1/top_k",
                        ConfigSchema{}, [](const Config& c, const BuildContext& ctx) {
                          return std::make_unique<UniformRouter>(parent_experts(ctx, c), parent_top_k(ctx, c));
                        });
}

}  // namespace strata::moe_plugin
