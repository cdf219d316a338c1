#include "routing.h"

#include <strata/ops.h>

#include <cmath>
#include <vector>

namespace strata::moe_plugin {

Tensor count_experts(const Tensor& expert_ids, std::int64_t n_experts) {
  std::vector<std::int64_t> counts(std::size_t(n_experts), 0);
  for (std::int64_t e : expert_ids.to_vector<std::int64_t>())
    if (e >= 0) ++counts[std::size_t(e)];
  return Tensor::from_vector(counts, {n_experts}).to(expert_ids.device());
}

LinearRouter::LinearRouter(std::int64_t d_model, std::int64_t n_experts, std::int64_t top_k, double jitter,
                           Generator& gen, DType dtype)
    : n_experts_(n_experts), top_k_(top_k), jitter_(jitter) {
  weight_ = register_parameter("weight", nn::uniform_init({n_experts, d_model}, 1.0 / std::sqrt(double(d_model)), gen, dtype));
}

Tensor LinearRouter::scores(const Tensor& x, StepContext& ctx) const {
  Tensor input = x;
  if (jitter_ > 0 && training() && ctx.training() && ctx.generator())
    input = mul(x, Tensor::rand(x.shape(), *ctx.generator(), x.dtype(), 1.0 - jitter_, 1.0 + jitter_));
  return linear(input, weight_);
}

TopK LinearRouter::choose(const Tensor& scores, const Tensor& values) const {
  const Tensor ranked = selection_bias_.defined() ? add(scores.detach(), selection_bias_.to(scores.dtype())) : scores.detach();
  TopK t;
  t.indices = topk(ranked, top_k_).indices;
  t.values = gather(values, 1, t.indices);
  return t;
}

}  // namespace strata::moe_plugin
