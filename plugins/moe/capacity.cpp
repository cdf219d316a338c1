#include "capacity.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace strata::moe_plugin {

std::int64_t expert_capacity(double capacity_factor, std::int64_t top_k, std::int64_t tokens, std::int64_t n_experts) {
  return std::int64_t(std::ceil(capacity_factor * double(top_k) * double(tokens) / double(n_experts)));
}

CapacityResult apply_capacity(const Tensor& expert_ids, const Tensor& probs, double capacity_factor,
                              DropPolicy policy) {
  const std::int64_t N = expert_ids.size(0), k = expert_ids.size(1), E = probs.size(1);
  CapacityResult r;
  r.capacity = expert_capacity(capacity_factor, k, N, E);
  std::vector<std::int64_t> ids = expert_ids.to_vector<std::int64_t>();
  const std::vector<double> p = probs.to_vector<double>();
  std::vector<std::vector<std::int64_t>> slots(static_cast<std::size_t>(E));  // flat slot indices t * k + j, in order
  for (std::int64_t s = 0; s < N * k; ++s)
    if (ids[std::size_t(s)] >= 0) slots[std::size_t(ids[std::size_t(s)])].push_back(s);
  for (std::int64_t e = 0; e < E; ++e) {
    std::vector<std::int64_t>& mine = slots[std::size_t(e)];
    if (std::int64_t(mine.size()) <= r.capacity) continue;
    if (policy == DropPolicy::probability)  // stable: among equal probabilities the earlier slot stays
      std::stable_sort(mine.begin(), mine.end(), [&](std::int64_t a, std::int64_t b) {
        return p[std::size_t(a / k * E + e)] > p[std::size_t(b / k * E + e)];
      });
    for (std::size_t i = std::size_t(r.capacity); i < mine.size(); ++i) {
      ids[std::size_t(mine[i])] = -1;
      ++r.dropped;
    }
  }
  r.expert_ids = Tensor::from_vector(ids, {N, k}).to(expert_ids.device());
  return r;
}

}  // namespace strata::moe_plugin
