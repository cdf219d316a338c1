#include "moe_ffn.h"

#include <strata/ops.h>
#include <strata/packing.h>

#include "telemetry.h"

#include <strata/telemetry.h>

namespace strata::moe_plugin {

MoeFfn::MoeFfn(const MoeConfig& c, std::shared_ptr<Router> router, std::vector<std::shared_ptr<Balance>> balance,
               std::vector<std::string> balance_names, std::int64_t d_model, Generator& gen, DType dtype,
               std::shared_ptr<ExpertPlacement> placement)
    : config_(c),
      router_(std::move(router)),
      balance_(std::move(balance)),
      balance_names_(std::move(balance_names)),
      placement_(std::move(placement)) {
  register_module("router", std::shared_ptr<Module>(router_));
  for (std::size_t i = 0; i < balance_.size(); ++i)
    register_module("balance_" + std::to_string(i), std::shared_ptr<Module>(balance_[i]));
  experts_ = register_module(
      "experts", placement_ ? std::make_shared<ExpertFfns>(c.n_experts, d_model, c.d_ff, c.activation, gen, dtype,
                                                           placement_->first_expert, placement_->local_experts,
                                                           placement_->shard)
                            : std::make_shared<ExpertFfns>(c.n_experts, d_model, c.d_ff, c.activation, gen, dtype));
  if (c.n_shared_experts > 0)
    shared_ = register_module("shared_experts",
                              std::make_shared<ExpertFfns>(c.n_shared_experts, d_model, c.shared_d_ff, c.activation, gen, dtype));
  if (c.shared_gate)
    shared_gate_ = register_module("shared_expert_gate", std::make_shared<nn::Linear>(d_model, 1, false, gen, dtype));
}

Tensor MoeFfn::forward(const Tensor& x, StepContext& ctx) {
  const std::int64_t B = x.size(0), T = x.size(1), D = x.size(2), N = B * T;
  const Tensor xf = reshape(x, {N, D});
  Routing routing = router_->route(xf, ctx);
  routing.seq_len = T;
  if (ctx.sequence_starts().defined()) routing.sequence_ids = sequence_ids(ctx.sequence_starts());
  for (std::size_t i = 0; i < balance_.size(); ++i)
    if (const Tensor loss = balance_[i]->loss(routing, ctx); loss.defined()) ctx.add_aux_loss(balance_names_[i], loss);

  Tensor ids = routing.expert_ids;
  std::int64_t dropped = 0;
  if (config_.capacity_factor > 0) {
    const CapacityResult cap = apply_capacity(ids, routing.probs, config_.capacity_factor, config_.drop_policy);
    ids = cap.expert_ids;
    dropped = cap.dropped;
  }
  const ExpertSlots slots = sort_slots_by_expert(ids, config_.n_experts);
  const Tensor xs = index_select(xf, 0, slots.token);  // [S, D], grouped by expert
  ExpertTraffic traffic;
  if (placement_ && ctx.data_parallel() == nullptr)
    throw ValueError("this moe ffn holds " + std::to_string(placement_->local_experts) + " of its " +
                         std::to_string(config_.n_experts) + " experts (expert_parallel = " +
                         std::to_string(config_.expert_parallel) + ") and runs only inside its data-parallel job",
                     "run the whole model from its checkpoint in one process (strata generate, eval)");
  const Tensor out = placement_ ? run_placed_experts(xs, slots.counts, *experts_, *placement_, traffic)
                                : experts_->forward(xs, slots.counts);  // [S, D]
  const Tensor gates = index_select(reshape(routing.gates, {routing.gates.numel()}), 0, slots.slot);  // [S]
  Tensor y = index_add(Tensor::zeros({N, D}, x.dtype(), x.device()), 0, slots.token, mul(out, unsqueeze(gates, 1)));
  if (shared_) {
    // Every token through every shared expert: G copies of the tokens, one slice each.
    const std::int64_t G = config_.n_shared_experts;
    const Tensor all = G == 1 ? xf : concat(std::vector<Tensor>(std::size_t(G), xf), 0);
    const Tensor shared_out = shared_->forward(all, Tensor::full({G}, double(N), DType::i64, x.device()));
    const Tensor shared_sum = G == 1 ? shared_out : sum(reshape(shared_out, {G, N, D}), {0});  // [N, D]
    y = add(y, shared_gate_ ? mul(shared_sum, sigmoid(shared_gate_->forward(xf))) : shared_sum);
  }
  if (ctx.training()) {
    report_routing(routing, slots.counts, dropped, ctx);
    if (config_.detailed_telemetry) report_routing_detail(ids, config_.n_experts, ctx);
    if (placement_) report_expert_traffic(traffic, ctx);
  }
  return reshape(y, {B, T, D});
}

std::vector<MetricSeries> MoeFfn::metric_series() const {
  std::vector<MetricSeries> out = routing_series(config_.detailed_telemetry, placement_ != nullptr);
  std::vector<const Module*> parts{router_.get()};
  for (const auto& b : balance_) parts.push_back(b.get());
  for (const Module* part : parts) {
    const std::vector<MetricSeries> more = part->metric_series();
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

}  // namespace strata::moe_plugin
