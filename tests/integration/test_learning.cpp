// End to end: a small character-level language model built from the core ops (embedding,
// rmsnorm, linear, fused swiglu, cross-entropy) learns real text with a hand-written Adam.
// Trains on the first 300 KB of tiny shakespeare shipped in experiments/labs/data.
#include <cmath>
#include <fstream>
#include <sstream>

#include "catch.h"
#include "helpers.h"

using namespace strata;

namespace {

std::string load_corpus() {
  std::ifstream in(STRATA_TEXT_FIXTURE);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Adam {
  std::vector<Tensor> params, m, v;
  double lr = 3e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  int t = 0;
  explicit Adam(std::vector<Tensor> p) : params(std::move(p)) {
    for (auto& x : params) {
      m.push_back(Tensor::zeros(x.shape()));
      v.push_back(Tensor::zeros(x.shape()));
    }
  }
  void step() {
    autograd::NoGradGuard no_grad;
    ++t;
    const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Tensor g = params[i].grad();
      m[i] = add(scale(m[i], b1), scale(g, 1 - b1));
      v[i] = add(scale(v[i], b2), scale(square(g), 1 - b2));
      const Tensor update = div(scale(m[i], lr / c1), add(sqrt(scale(v[i], 1 / c2)), eps));
      params[i].add_(update, -1.0);
      params[i].grad().zero_();
    }
  }
};

}  // namespace

TEST_CASE("a character MLP learns text well below the unigram entropy", "[integration][learning]") {
  const std::string text = load_corpus();
  std::vector<std::int64_t> vocab_of(256, -1);
  std::int64_t V = 0;
  for (unsigned char c : text)
    if (vocab_of[c] < 0) vocab_of[c] = V++;
  std::vector<std::int64_t> tokens;
  for (unsigned char c : text) tokens.push_back(vocab_of[c]);
  const std::int64_t n = std::int64_t(tokens.size()), split_at = n * 9 / 10;

  // unigram entropy of the training split: what a model without context can reach
  std::vector<double> freq(std::size_t(V), 0.0);
  for (std::int64_t i = 0; i < split_at; ++i) freq[std::size_t(tokens[std::size_t(i)])] += 1.0;
  double unigram = 0;
  for (double f : freq)
    if (f > 0) unigram -= f / double(split_at) * std::log(f / double(split_at));

  constexpr std::int64_t kContext = 4, kEmbed = 24, kHidden = 192, kBatch = 256;
  Generator gen(1234);
  Tensor E = scale(Tensor::randn({V, kEmbed}, gen), 0.5).detach().requires_grad_();
  Tensor g = Tensor::ones({kContext * kEmbed}).requires_grad_();
  Tensor W1 = scale(Tensor::randn({2 * kHidden, kContext * kEmbed}, gen), 1.0 / std::sqrt(double(kContext * kEmbed)))
                  .detach()
                  .requires_grad_();
  Tensor W2 = scale(Tensor::randn({V, kHidden}, gen), 1.0 / std::sqrt(double(kHidden))).detach().requires_grad_();
  Tensor b2 = Tensor::zeros({V}).requires_grad_();
  Adam opt({E, g, W1, W2, b2});

  auto batch = [&](std::int64_t lo, std::int64_t hi, std::int64_t count) {
    std::vector<std::int64_t> ctx, tgt;
    for (std::int64_t b = 0; b < count; ++b) {
      const std::int64_t pos = lo + kContext + std::int64_t(gen.next_u64() % std::uint64_t(hi - lo - kContext));
      for (std::int64_t k = kContext; k > 0; --k) ctx.push_back(tokens[std::size_t(pos - k)]);
      tgt.push_back(tokens[std::size_t(pos)]);
    }
    return std::pair{Tensor::from_vector(ctx, {count, kContext}), Tensor::from_vector(tgt, {count})};
  };
  auto loss_of = [&](const Tensor& ctx, const Tensor& tgt) {
    const Tensor x = reshape(embedding(E, ctx), {ctx.size(0), kContext * kEmbed});
    const Tensor h = swiglu(linear(rmsnorm(x, g), W1));
    return cross_entropy(linear(h, W2, b2), tgt);
  };

  double first = 0;
  for (int step = 0; step < 600; ++step) {
    auto [ctx, tgt] = batch(0, split_at, kBatch);
    const Tensor loss = loss_of(ctx, tgt);
    if (step == 0) first = loss.item();
    REQUIRE(std::isfinite(loss.item()));
    loss.backward();
    opt.step();
  }
  double held_out;
  {
    autograd::NoGradGuard no_grad;
    auto [ctx, tgt] = batch(split_at, n, 4096);
    held_out = loss_of(ctx, tgt).item();
  }
  WARN("vocab " << V << ", first loss " << first << ", unigram entropy " << unigram << ", held-out loss " << held_out);
  CHECK(first > unigram);           // starts no better than chance-ish
  CHECK(held_out < unigram - 0.6);  // context was learned, and it generalises
}
