#pragma once
// A set of G expert FFNs with stacked weights, applied to rows grouped by expert:
//   swiglu: out = (silu(x Wg^T) * (x Wu^T)) Wd^T   gate_up_proj [G, 2F, D] (rows [gate; up]),
//   gelu:   out = gelu(x Wu^T) Wd^T                up_proj [G, F, D]
//   down_proj [G, D, F]
// Each weight is initialised per expert as nn.Linear (U(+-1/sqrt(fan_in))).
#include <strata/module.h>
#include <strata/random.h>

#include <cstdint>
#include <memory>

namespace strata::moe_plugin {

enum class ExpertActivation { swiglu, gelu };

class ExpertFfns : public Module {
 public:
  ExpertFfns(std::int64_t n_experts, std::int64_t d_model, std::int64_t d_ff, ExpertActivation activation,
             Generator& gen, DType dtype);
  // Experts [first, first + count) of n_experts, as sharded parameters (expert parallelism):
  // the full weights are drawn as above and this block kept, so that the model starts from
  // the weights one process would draw.
  ExpertFfns(std::int64_t n_experts, std::int64_t d_model, std::int64_t d_ff, ExpertActivation activation,
             Generator& gen, DType dtype, std::int64_t first, std::int64_t count,
             std::shared_ptr<const ParameterShard> shard);

  // xs: [S, D], rows grouped by expert, counts: [G] i64 (summing to S) -> [S, D]
  Tensor forward(const Tensor& xs, const Tensor& counts) const;

  std::int64_t n_experts() const { return up_.size(0); }  // held here (a block under expert parallelism)
  std::int64_t d_ff() const { return down_.size(2); }
  // Multiply-adds per routed token (for FLOP counts): 3 D F (swiglu) or 2 D F (gelu).
  std::int64_t macs_per_token() const;

 private:
  ExpertActivation activation_;
  Tensor up_;    // [G, 2F, D] (swiglu) or [G, F, D]
  Tensor down_;  // [G, D, F]
};

}  // namespace strata::moe_plugin
