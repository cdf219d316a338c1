#include "sigmoid_router.h"

#include <strata/ops.h>

#include <algorithm>
#include <vector>

#include "routing.h"

namespace strata::moe_plugin {

namespace {

class SigmoidBias : public LinearRouter {
 public:
  SigmoidBias(std::int64_t d_model, std::int64_t n_experts, std::int64_t top_k, double jitter, bool normalize,
              double scaling, std::int64_t n_groups, std::int64_t topk_groups, Generator& gen, DType dtype)
      : LinearRouter(d_model, n_experts, top_k, jitter, gen, dtype),
        normalize_(normalize),
        scaling_(scaling),
        n_groups_(n_groups),
        topk_groups_(topk_groups) {}

  // x: [N, D]
  Routing route(const Tensor& x, StepContext& ctx) override {
    Routing r;
    r.n_experts = n_experts_;
    r.top_k = top_k_;
    r.logits = scores(x, ctx);                               // [N, E]
    const Tensor s = sigmoid(r.logits);                      // [N, E]
    r.probs = div(s, sum(s, {-1}, true));                    // [N, E]
    const TopK top = choose(group_limited(s), s);
    r.expert_ids = top.indices;
    Tensor gates = top.values;
    if (normalize_) gates = div(gates, sum(gates, {-1}, true));
    r.gates = scaling_ == 1.0 ? gates : mul(gates, scaling_);
    r.counts = count_experts(r.expert_ids, n_experts_);
    return r;
  }

  bool accepts_selection_bias() const override { return true; }
  void set_selection_bias(const Tensor& bias) override { selection_bias_ = bias; }

 private:
  // s: [N, E] -> s with the experts outside each token's topk_groups best groups at -1
  // (below any sigmoid, so never chosen); no gradient (selection only).
  Tensor group_limited(const Tensor& s) const {
    if (n_groups_ <= 1) return s.detach();
    const std::int64_t N = s.size(0), E = n_experts_, per = E / n_groups_;
    std::vector<double> v = s.to_vector<double>();
    std::vector<double> bias = selection_bias_.defined() ? selection_bias_.to_vector<double>() : std::vector<double>(std::size_t(E), 0.0);
    for (std::int64_t t = 0; t < N; ++t) {
      double* row = v.data() + t * E;
      std::vector<std::pair<double, std::int64_t>> group_score;
      for (std::int64_t g = 0; g < n_groups_; ++g) {
        std::vector<double> in_group;
        for (std::int64_t e = g * per; e < (g + 1) * per; ++e) in_group.push_back(row[e] + bias[std::size_t(e)]);
        std::sort(in_group.rbegin(), in_group.rend());
        group_score.push_back({in_group[0] + (in_group.size() > 1 ? in_group[1] : 0.0), g});
      }
      // Best groups first; among equal scores the lower group.
      std::stable_sort(group_score.begin(), group_score.end(), [](auto a, auto b) { return a.first > b.first; });
      for (std::size_t i = std::size_t(topk_groups_); i < group_score.size(); ++i)
        for (std::int64_t e = group_score[i].second * per; e < (group_score[i].second + 1) * per; ++e) row[e] = -1.0 - bias[std::size_t(e)] - 1e9;
    }
    return Tensor::from_vector(v, {N, E}).to(s.dtype()).to(s.device());
  }

  bool normalize_;
  double scaling_;
  std::int64_t n_groups_, topk_groups_;
};

}  // namespace

void register_sigmoid_router(PluginRegistrar& registrar) {
  ConfigSchema s;
  s.number("jitter", 0.0, "training-time input noise: x * U(1 - jitter, 1 + jitter)").range(0.0, 1.0);
  s.boolean("normalize", true, "divide the chosen gates by their sum (DeepSeek-V3 norm_topk_prob)");
  s.number("scaling", 1.0, "factor on the gates (DeepSeek-V3 routed_scaling_factor: 2.5)").greater_than(0.0);
  s.integer("n_groups", 1, "expert groups for group-limited selection (1: off; DeepSeek-V3: 8)").at_least(1);
  s.integer("topk_groups", 1, "groups kept per token before the top_k choice (DeepSeek-V3: 4)").at_least(1);
  registrar.add<Router>(
      "sigmoid_bias", "sigmoid scores, biased selection, unbiased normalised gates, optional group limit (DeepSeek-V3)",
      s, [](const Config& c, const BuildContext& ctx) {
        const std::int64_t groups = c.integer("n_groups"), keep = c.integer("topk_groups");
        if (parent_experts(ctx, c) % groups != 0)
          throw c.error("n_groups", "= " + std::to_string(groups) + " does not divide n_experts = " + std::to_string(parent_experts(ctx, c)),
                        "groups hold equal numbers of experts");
        if (keep > groups)
          throw c.error("topk_groups", "= " + std::to_string(keep) + " exceeds n_groups = " + std::to_string(groups));
        if (groups > 1 && keep * (parent_experts(ctx, c) / groups) < parent_top_k(ctx, c))
          throw c.error("topk_groups", "keeps " + std::to_string(keep * (parent_experts(ctx, c) / groups)) + " experts, fewer than top_k = " + std::to_string(parent_top_k(ctx, c)),
                        "keep enough groups for top_k experts");
        return std::make_unique<SigmoidBias>(ctx.dims.d_model, parent_experts(ctx, c), parent_top_k(ctx, c), c.number("jitter"),
                                             c.boolean("normalize"), c.number("scaling"), groups, keep, *ctx.gen, ctx.dtype);
      });
}

}  // namespace strata::moe_plugin
