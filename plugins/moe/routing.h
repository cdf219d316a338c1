#pragma once
// Helpers shared by the routers: expert counts of a selection, and the router's linear
// score layer.
#include <strata/components.h>
#include <strata/nn.h>
#include <strata/ops/indexing.h>

#include <cstdint>

namespace strata::moe_plugin {

// What the moe ffn passes to the routers and balance terms it builds
// (BuildContext::from_parent), and the router payload names (Routing::extras) that
// noisy top-k produces for the importance/load balance term. A router or balance plugin
// outside this one that wants to sit inside an moe ffn reads the same names.
inline constexpr const char* kParentExperts = "n_experts";
inline constexpr const char* kParentTopK = "top_k";
inline constexpr const char* kExtraNoisyLogits = "noisy_logits";  // H [N, E], the logits experts were chosen by
inline constexpr const char* kExtraNoiseStd = "noise_std";        // [N, E], the noise scale

// The expert count and top_k of the moe ffn building the component configured by `c`.
inline std::int64_t parent_experts(const BuildContext& ctx, const Config& c) { return ctx.parent_integer(kParentExperts, c); }
inline std::int64_t parent_top_k(const BuildContext& ctx, const Config& c) { return ctx.parent_integer(kParentTopK, c); }

// expert_ids: [N, k] i64 in [-1, E) -> [E] i64, slots per expert (-1 not counted).
Tensor count_experts(const Tensor& expert_ids, std::int64_t n_experts);

// A router with a linear score layer weight [E, D] (no bias), initialised as nn.Linear,
// and multiplicative input jitter x * U(1 - eps, 1 + eps) in training (Switch Transformer).
class LinearRouter : public Router {
 public:
  LinearRouter(std::int64_t d_model, std::int64_t n_experts, std::int64_t top_k, double jitter, Generator& gen,
               DType dtype);

 protected:
  // x: [N, D] -> logits [N, E], with jitter applied to x when training.
  Tensor scores(const Tensor& x, StepContext& ctx) const;
  // The top_k experts by `scores` [N, E] plus the selection bias when one is set (the
  // bias only chooses; it carries no gradient), and `values` [N, E] at them: [N, k].
  TopK choose(const Tensor& scores, const Tensor& values) const;

  Tensor selection_bias_;  // [E] or undefined

  std::int64_t n_experts_, top_k_;
  double jitter_;
  Tensor weight_;  // [E, D]
};

}  // namespace strata::moe_plugin
