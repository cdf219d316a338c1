// The moe plugin: registers the `moe` ffn, the routers and the balance terms. Routers and
// balance terms are components of their own, so any router combines with any list of
// balance terms in the experiment file:
//
//   [model.ffn.E]
//   type = "moe"
//   n_experts = 8
//   top_k = 2
//   router = { type = "softmax_topk", renormalize = false }
//   balance = [{ type = "switch_aux", alpha = 0.01 }, { type = "z_loss", coef = 1e-3 }]
#include <strata/nn.h>
#include <strata/plugin.h>
#include <strata/registry.h>

#include <string>

#include "aux_free_bias.h"
#include "balance_terms.h"
#include "baseline_routers.h"
#include "expert_choice_router.h"
#include "hf_mapping.h"
#include "importance_load.h"
#include "moe_ffn.h"
#include "routing.h"
#include "sigmoid_router.h"
#include "softmax_routers.h"

namespace {

using namespace strata;
using namespace strata::moe_plugin;

ConfigSchema moe_schema() {
  ConfigSchema s;
  s.integer("n_experts", 8, "routed experts E").range(1, 4096);
  s.integer("top_k", 2, "experts per token k (1 <= k <= n_experts)").at_least(1);
  s.integer("d_ff", 0, "hidden width of each expert; 0: 8/3 d_model rounded up to 8 (swiglu) or 4 d_model (gelu)")
      .range(0, 1 << 24);
  s.string("activation", "swiglu", "expert FFN: swiglu (Mixtral, DeepSeek) or gelu").one_of({"swiglu", "gelu"});
  s.integer("n_shared_experts", 0, "always-active experts added to every token (DeepSeekMoE, Granite's shared_mlp)")
      .range(0, 64);
  s.integer("shared_d_ff", 0, "hidden width of each shared expert; 0: d_ff").range(0, 1 << 24);
  s.boolean("shared_gate", false,
            "scale the shared experts' output per token by sigmoid(x . w), w = shared_expert_gate [1, D] "
            "(Qwen2-MoE, Qwen3-Next)");
  s.number("capacity_factor", 0.0,
           "0: dropless; > 0: at most ceil(capacity_factor * top_k * tokens / n_experts) slots per expert")
      .at_least(0.0);
  s.string("drop_policy", "probability",
           "with capacity: keep the slots of highest router probability, or the earliest positions")
      .one_of({"probability", "position"});
  s.component("router", ComponentKind::router, "softmax_topk", "how tokens choose experts");
  s.component_list("balance", ComponentKind::balance, "load-balancing terms, each with its coefficient");
  s.boolean("detailed_telemetry", false,
            "also log the expert co-activation matrix and the token-id x expert histogram (metrics.jsonl)");
  s.integer("expert_parallel", 1,
            "under mpirun: shard the routed experts over this many data-parallel ranks (dividing n_experts and the "
            "job's ranks); tokens travel to their experts' ranks and back (docs/distributed.md). 1, or one process: "
            "every rank holds every expert")
      .range(1, 4096);
  s.boolean("allow_non_causal", false,
            "accept a router whose choice for a token depends on later tokens (expert_choice); such a model "
            "sees the future in training and cannot decode");
  return s;
}

MoeConfig moe_config(const Config& config, const BuildContext& ctx) {
  MoeConfig c;
  c.n_experts = config.integer("n_experts");
  c.top_k = config.integer("top_k");
  if (c.top_k > c.n_experts)
    throw config.error("top_k", "= " + std::to_string(c.top_k) + " exceeds n_experts = " + std::to_string(c.n_experts),
                       "each token picks top_k distinct experts: use top_k <= n_experts");
  c.activation = config.string("activation") == "gelu" ? ExpertActivation::gelu : ExpertActivation::swiglu;
  c.d_ff = config.integer("d_ff") > 0 ? config.integer("d_ff") : nn::default_ffn_hidden(c.activation == ExpertActivation::swiglu, ctx.dims.d_model);
  c.n_shared_experts = config.integer("n_shared_experts");
  c.shared_d_ff = config.integer("shared_d_ff") > 0 ? config.integer("shared_d_ff") : c.d_ff;
  if (config.has("shared_d_ff") && c.n_shared_experts == 0)
    throw config.error("shared_d_ff", "has no effect without shared experts (n_shared_experts = 0)",
                       "remove it, or set n_shared_experts >= 1");
  c.shared_gate = config.boolean("shared_gate");
  if (c.shared_gate && c.n_shared_experts == 0)
    throw config.error("shared_gate", "has no effect without shared experts (n_shared_experts = 0)",
                       "remove it, or set n_shared_experts >= 1");
  c.capacity_factor = config.number("capacity_factor");
  if (config.has("drop_policy") && c.capacity_factor == 0)
    throw config.error("drop_policy", "has no effect without a capacity (capacity_factor = 0 is dropless)",
                       "remove it, or set capacity_factor > 0");
  c.drop_policy = config.string("drop_policy") == "position" ? DropPolicy::position : DropPolicy::probability;
  c.detailed_telemetry = config.boolean("detailed_telemetry");
  c.expert_parallel = config.integer("expert_parallel");
  if (c.expert_parallel > 1 && c.n_experts % c.expert_parallel != 0)
    throw config.error("expert_parallel", "= " + std::to_string(c.expert_parallel) + " does not divide n_experts = " +
                                              std::to_string(c.n_experts),
                       "choose a divisor of n_experts: each rank holds n_experts / expert_parallel experts");
  return c;
}

std::unique_ptr<MoeFfn> make_moe(const Config& config, const BuildContext& ctx) {
  const MoeConfig c = moe_config(config, ctx);
  BuildContext nested = ctx;
  nested.from_parent[kParentExperts] = c.n_experts;
  nested.from_parent[kParentTopK] = c.top_k;
  auto router = ctx.registry->create<Router>(config.component("router"), nested);
  if (!router->causal()) {
    if (!config.boolean("allow_non_causal"))
      throw config.component("router").error(
          "type", "chooses experts by looking at later tokens too (non-causal): a causal language model would see the future",
          "set allow_non_causal = true in the moe ffn to accept that (e.g. for encoders or routing studies)");
    if (c.capacity_factor > 0)
      throw config.error("capacity_factor", "does not apply: the router " + config.component("router").type() +
                                                " sets each expert's capacity itself",
                         "remove capacity_factor (use the router's experts_per_token)");
  }
  std::vector<std::shared_ptr<Balance>> balance;
  std::vector<std::string> names;
  for (const Config& b : config.components("balance")) {
    balance.push_back(ctx.registry->create<Balance>(b, nested));
    names.push_back("balance." + std::to_string(names.size()) + "." + b.type());
    if (const Tensor bias = balance.back()->selection_bias(); bias.defined()) {
      if (!router->accepts_selection_bias())
        throw b.error("type", "needs a router that chooses experts by biased scores, but router " +
                                  config.component("router").type() + " does not",
                      "use router softmax_topk or sigmoid_bias");
      router->set_selection_bias(bias);
    }
  }
  return std::make_unique<MoeFfn>(c, std::move(router), std::move(balance), std::move(names), ctx.dims.d_model,
                                  *ctx.gen, ctx.dtype, place_experts(config, c.expert_parallel, c.n_experts, ctx));
}

// All experts count towards params; a token uses the router, its top_k routed experts and
// the shared experts. The router is built to count it (it is small: E x D).
ComponentCost moe_cost(const Config& config, const BuildContext& ctx, const CostQuery& query) {
  const MoeConfig c = moe_config(config, ctx);
  BuildContext nested = ctx;
  nested.from_parent[kParentExperts] = c.n_experts;
  nested.from_parent[kParentTopK] = c.top_k;
  const std::int64_t router = ctx.registry->create<Router>(config.component("router"), nested)->num_parameters();
  const std::int64_t D = ctx.dims.d_model;
  const std::int64_t matrices = c.activation == ExpertActivation::swiglu ? 3 : 2;
  const std::int64_t expert = D * matrices * c.d_ff,
                     shared = c.n_shared_experts * D * matrices * c.shared_d_ff + (c.shared_gate ? D : 0);
  ComponentCost cost;
  cost.params = router + c.n_experts * expert + shared;
  cost.active_params = router + c.top_k * expert + shared;
  cost.flops_per_token = 2.0 * double(c.n_experts * D + c.top_k * expert + shared);
  // Kept for backward per token: for each of its top_k (and shared) expert slots the
  // gathered input, the up projection's output, the activation's and the expert output;
  // the router's logits and probabilities and the chosen ids and weights.
  const std::int64_t up = (c.activation == ExpertActivation::swiglu ? 2 : 1);
  cost.activation_elements =
      query.context * (c.top_k * (2 * D + (up + 1) * c.d_ff) + c.n_shared_experts * (2 * D + (up + 1) * c.shared_d_ff) +
                       4 * c.n_experts + 4 * c.top_k);
  return cost;
}

void register_components(PluginRegistrar& registrar) {
  registrar.add<MoeFfn>("moe", "Mixture-of-Experts ffn: dropless or capacity-limited, grouped expert products",
                        moe_schema(), &make_moe, &moe_cost);
  register_softmax_routers(registrar);
  register_sigmoid_router(registrar);
  register_expert_choice_router(registrar);
  register_baseline_routers(registrar);
  register_balance_terms(registrar);
  register_aux_free_bias(registrar);
  register_importance_load(registrar);
  moe_plugin::register_hf_mappings(registrar);
}

}  // namespace

STRATA_PLUGIN("moe", "0.1.0", register_components)
