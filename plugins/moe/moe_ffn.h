#pragma once
// The Mixture-of-Experts ffn:
//
//   routing = router(x)                        x: [N, D] -> expert ids [N, k], gates [N, k], probs [N, E]
//   balance terms add their losses to the step (each under its own name)
//   ids = capacity(routing.expert_ids)         capacity_factor > 0: overflow dropped (-1)
//   slots = sort_slots_by_expert(ids)          counting sort: each expert's slots contiguous
//   out = experts(x[slots.token], counts)      one product per expert slice (grouped_matmul);
//                                              with expert_parallel, on the ranks that hold them
//   y[t] = sum over t's kept slots of gate * out   (index_add)
//        + sum over shared experts of shared(x[t])    (always active, DeepSeekMoE)
//          (times sigmoid(x[t] . shared_expert_gate) with shared_gate: Qwen2-MoE, Qwen3-Next)
//
// Expert weights are stacked [E, ...] (experts.h). Expert-usage telemetry goes to the
// step's metrics (telemetry.h).
#include <strata/components.h>
#include <strata/nn.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "capacity.h"
#include "expert_parallel.h"
#include "experts.h"

namespace strata::moe_plugin {

struct MoeConfig {
  std::int64_t n_experts = 8, top_k = 2, d_ff = 0, n_shared_experts = 0;
  std::int64_t shared_d_ff = 0;  // each shared expert's hidden width (d_ff unless set)
  bool shared_gate = false;      // the shared experts' sum scaled by sigmoid(x . shared_expert_gate)
  ExpertActivation activation = ExpertActivation::swiglu;
  double capacity_factor = 0;  // 0: dropless
  DropPolicy drop_policy = DropPolicy::probability;
  bool detailed_telemetry = false;  // co-activation matrix and token-id x expert histogram
  std::int64_t expert_parallel = 1;  // experts sharded over this many data-parallel ranks (expert_parallel.h)
};

class MoeFfn : public Ffn {
 public:
  // `placement`: where the experts live under expert parallelism; null: all here.
  MoeFfn(const MoeConfig& config, std::shared_ptr<Router> router, std::vector<std::shared_ptr<Balance>> balance,
         std::vector<std::string> balance_names, std::int64_t d_model, Generator& gen, DType dtype,
         std::shared_ptr<ExpertPlacement> placement = nullptr);

  // x: [B, T, D] -> [B, T, D]
  Tensor forward(const Tensor& x, StepContext& ctx) override;
  // With a capacity, or a router that looks at other tokens (expert choice), tokens
  // compete for expert slots: one token's routing can change another's.
  bool token_independent() const override { return config_.capacity_factor == 0 && router_->causal(); }
  // Per-sequence balance terms count per packed document (Routing::sequence_ids). With a
  // capacity or expert-choice routing, documents packed in a batch compete for expert
  // slots as the rows of an unpacked batch do.
  bool supports_packed_sequences() const override { return true; }

  const MoeConfig& config() const { return config_; }

  // The routing telemetry (telemetry.h) and the router's and balance terms' series.
  std::vector<MetricSeries> metric_series() const override;

 private:
  MoeConfig config_;
  std::shared_ptr<Router> router_;
  std::vector<std::shared_ptr<Balance>> balance_;
  std::vector<std::string> balance_names_;
  std::shared_ptr<ExpertFfns> experts_, shared_;  // experts_: this rank's block under expert parallelism
  std::shared_ptr<ExpertPlacement> placement_;
  std::shared_ptr<nn::Linear> shared_gate_;  // shared_gate: [1, D]
};

}  // namespace strata::moe_plugin
