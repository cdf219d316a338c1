#include "expert_choice_router.h"

#include <strata/ops.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "routing.h"

namespace strata::moe_plugin {

namespace {

class ExpertChoice : public LinearRouter {
 public:
  ExpertChoice(std::int64_t d_model, std::int64_t n_experts, double per_token, double jitter, Generator& gen,
               DType dtype)
      : LinearRouter(d_model, n_experts, n_experts, jitter, gen, dtype), per_token_(per_token) {}

  // x: [N, D]
  Routing route(const Tensor& x, StepContext& ctx) override {
    const std::int64_t N = x.size(0), E = n_experts_;
    Routing r;
    r.n_experts = E;
    r.top_k = E;
    r.logits = scores(x, ctx);
    r.probs = softmax(r.logits);  // [N, E]
    const std::int64_t take = std::min<std::int64_t>(N, std::int64_t(std::ceil(per_token_ * double(N) / double(E))));
    const std::vector<double> p = r.probs.to_vector<double>();
    std::vector<std::int64_t> ids(std::size_t(N * E), -1);
    std::vector<std::int64_t> order(static_cast<std::size_t>(N));
    for (std::int64_t e = 0; e < E; ++e) {
      std::iota(order.begin(), order.end(), 0);
      // Largest S[:, e] first; among equal scores the earlier token.
      std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        return p[std::size_t(a * E + e)] > p[std::size_t(b * E + e)];
      });
      for (std::int64_t i = 0; i < take; ++i) ids[std::size_t(order[std::size_t(i)] * E + e)] = e;
    }
    r.expert_ids = Tensor::from_vector(ids, {N, E}).to(r.probs.device());
    r.gates = r.probs;
    r.counts = Tensor::full({E}, double(take), DType::i64, r.probs.device());
    return r;
  }

  bool causal() const override { return false; }

 private:
  double per_token_;
};

}  // namespace

void register_expert_choice_router(PluginRegistrar& registrar) {
  ConfigSchema s;
  s.number("experts_per_token", 0.0, "c: each expert takes ceil(c N / E) tokens; 0 = the moe's top_k").at_least(0.0);
  s.number("jitter", 0.0, "training-time input noise: x * U(1 - jitter, 1 + jitter)").range(0.0, 1.0);
  registrar.add<Router>("expert_choice", "each expert picks its top tokens (Zhou et al. 2022); non-causal", s,
                        [](const Config& c, const BuildContext& ctx) {
                          const double per_token = c.number("experts_per_token") > 0 ? c.number("experts_per_token")
                                                                                     : double(parent_top_k(ctx, c));
                          return std::make_unique<ExpertChoice>(ctx.dims.d_model, parent_experts(ctx, c), per_token,
                                                                c.number("jitter"), *ctx.gen, ctx.dtype);
                        });
}

}  // namespace strata::moe_plugin
