#include "importance_load.h"
#include "routing.h"

#include <strata/autograd.h>
#include <strata/error.h>
#include <strata/ops.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace strata::moe_plugin {

namespace {

// Phi(x), the standard normal CDF, elementwise with its gradient phi(x).
Tensor normal_cdf(const Tensor& x) {
  const std::vector<double> v = x.to_vector<double>();
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = 0.5 * std::erfc(-v[i] / std::sqrt(2.0));
  Tensor y = Tensor::from_vector(out, x.shape()).to(x.dtype()).to(x.device());
  autograd::record("normal_cdf", {x}, {y}, [xs = autograd::SavedTensor(x.detach())](const autograd::BackwardArgs& g) {
    const Tensor density = mul(exp(mul(square(xs.get()), -0.5)), 1.0 / std::sqrt(2.0 * M_PI));
    return std::vector<Tensor>{mul(g.grad(), density)};
  });
  return y;
}

// Squared coefficient of variation of v [E]: population variance / mean^2.
Tensor cv_squared(const Tensor& v) {
  const Tensor m = mean(v);
  return div(mean(square(sub(v, m))), add(square(m), 1e-10));
}

class ImportanceLoad : public Balance {
 public:
  ImportanceLoad(double w_importance, double w_load) : w_importance_(w_importance), w_load_(w_load) {}

  Tensor loss(const Routing& r, StepContext& ctx) override {
    const std::int64_t N = r.expert_ids.size(0), k = r.expert_ids.size(1), E = r.n_experts;
    Tensor total;
    if (w_importance_ > 0) {
      // Gates scattered into [N, E]; dropped slots (-1) add nothing.
      std::vector<std::int64_t> ids = r.expert_ids.to_vector<std::int64_t>();
      std::vector<double> keep(ids.size());
      for (std::size_t s = 0; s < ids.size(); ++s) keep[s] = ids[s] >= 0, ids[s] = std::max<std::int64_t>(ids[s], 0);
      const Device device = r.gates.device();
      const Tensor gates = mul(r.gates, Tensor::from_vector(keep, {N, k}).to(r.gates.dtype()).to(device));
      const Tensor G = scatter_add(Tensor::zeros({N, E}, r.gates.dtype(), device), 1,
                                   Tensor::from_vector(ids, {N, k}).to(device), gates);
      total = mul(cv_squared(sum(G, {0})), w_importance_);
    }
    if (w_load_ > 0) {
      if (!r.extra(kExtraNoiseStd).defined()) {
        if (ctx.training())
          throw ValueError("importance_load: the load term needs the noise of the noisy_topk router",
                           "use router noisy_topk, or set w_load = 0 for the importance term alone");
        return total;  // evaluation: no noise, no load estimate
      }
      const Tensor load = mul(cv_squared(sum(selection_probability(r), {0})), w_load_);
      total = total.defined() ? add(total, load) : load;
    }
    return total;
  }

 private:
  // P(t, i) [N, E] that token t would pick expert i with fresh noise on i's logit.
  static Tensor selection_probability(const Routing& r) {
    const Tensor noisy_logits = r.extra(kExtraNoisyLogits), noise_std = r.extra(kExtraNoiseStd);  // [N, E]
    const std::int64_t N = noisy_logits.size(0), E = noisy_logits.size(1), k = r.top_k;
    const std::vector<double> h = noisy_logits.to_vector<double>();
    std::vector<double> threshold(std::size_t(N * E));
    std::vector<double> row(static_cast<std::size_t>(E));
    for (std::int64_t t = 0; t < N; ++t) {
      std::copy_n(h.begin() + t * E, E, row.begin());
      std::sort(row.rbegin(), row.rend());
      const double kth = row[std::size_t(k - 1)];
      const double next = k < E ? row[std::size_t(k)] : -INFINITY;
      // In the top k: its place is taken by the (k+1)-th if it drops out; else it must beat the k-th.
      for (std::int64_t i = 0; i < E; ++i) threshold[std::size_t(t * E + i)] = h[std::size_t(t * E + i)] >= kth ? next : kth;
    }
    const Tensor thresholds = Tensor::from_vector(threshold, {N, E}).to(r.logits.dtype()).to(r.logits.device());
    return normal_cdf(div(sub(r.logits, thresholds), noise_std));
  }

  double w_importance_, w_load_;
};

}  // namespace

void register_importance_load(PluginRegistrar& registrar) {
  ConfigSchema s;
  s.number("w_importance", 0.1, "weight of CV(importance)^2 (Shazeer et al.: 0.1)").at_least(0.0);
  s.number("w_load", 0.1, "weight of CV(load)^2, the smooth load of noisy_topk (0: importance only)").at_least(0.0);
  registrar.add<Balance>("importance_load", "squared coefficients of variation of importance and load (Shazeer et al. 2017)",
                         s, [](const Config& c, const BuildContext&) {
                           return std::make_unique<ImportanceLoad>(c.number("w_importance"), c.number("w_load"));
                         });
}

}  // namespace strata::moe_plugin
