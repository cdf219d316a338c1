#pragma once
// Expert capacity: at most C = ceil(capacity_factor * top_k * N / E) slots per expert;
// the overflow is dropped (expert id -1), so those tokens get nothing from that expert
// and pass through on the residual. Which slots stay: the highest router probability
// (Megatron's "probs") or the earliest positions (Megatron's "position", GShard).
#include <strata/tensor.h>

#include <cstdint>

namespace strata::moe_plugin {

enum class DropPolicy { probability, position };

struct CapacityResult {
  Tensor expert_ids;          // [N, k] i64 with dropped slots set to -1
  std::int64_t capacity = 0;  // C
  std::int64_t dropped = 0;   // slots dropped
};

std::int64_t expert_capacity(double capacity_factor, std::int64_t top_k, std::int64_t tokens, std::int64_t n_experts);

// expert_ids: [N, k] i64, probs: [N, E] (the router's probabilities, for the priority).
CapacityResult apply_capacity(const Tensor& expert_ids, const Tensor& probs, double capacity_factor,
                              DropPolicy policy);

}  // namespace strata::moe_plugin
