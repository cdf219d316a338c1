#pragma once
// Planning a model analytically, without allocating its weights: total and active
// parameters per layer type, decode-cache bytes at a context length and dtype, and forward
// FLOPs per token. `strata inspect` prints it; it plans published models (Jamba, Mixtral)
// far larger than memory from their experiment files.
//
// Counting rules (docs/planning.md):
//   params_total  = every distinct parameter: embedding, LM head when untied, all norms,
//                   mixers, ffns (all experts), as Hugging Face's num_parameters() counts;
//   params_active = params_total minus the routed experts a token does not use (E - top_k
//                   per MoE layer);
//   cache_bytes   = decode state for one sequence after `context` tokens (KV for attention,
//                   conv + SSM state for Mamba), every element stored in `dtype`;
//   flops_per_token = 2 x the multiply-adds of one token's forward at `context` tokens of
//                   history: projections, LM head, attention scores and values, the
//                   selective scan (~9 E N); norms, activations and softmax are left out.
//   activation_elements = what a training forward keeps for the backward for one sequence
//                   of `context` tokens: the components' declared activations plus the
//                   model's own (embedding output; per sublayer the norm's output and
//                   statistics and the residual sum; the final norm; the logits).
// A component that declares no analytic cost (ComponentCost) is built to count its
// parameters (its FLOPs are then estimated as 2 x params and its state is unknown).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "strata/components.h"
#include "strata/experiment.h"

namespace strata {

struct PlanQuery {
  std::int64_t context = 0;  // tokens of history; 0: no cache, FLOPs without the attention term
  std::string dtype = "f32";  // element type of the cache: f32, bf16, f16 or f64
};

// Bytes per element of a cache dtype name; ValueError listing the valid names otherwise.
std::size_t plan_dtype_bytes(const std::string& dtype);

struct LayerCostRow {
  int index = 0;
  std::string mixer_entry, mixer_type;
  std::string ffn_entry, ffn_type;  // empty: no ffn
  ComponentCost mixer, ffn;
  std::int64_t norm_params = 0;
  bool estimated = false;  // a component without an analytic cost was built to count it
};

struct TypeTotals {
  std::int64_t layers = 0;
  std::int64_t params = 0;
  std::int64_t active_params = 0;
  std::int64_t cache_bytes = 0;
};

struct ModelPlan {
  ModelDims dims;
  bool tied = true;
  PlanQuery query;
  std::vector<LayerCostRow> layers;
  std::int64_t embedding_params = 0;
  std::int64_t head_params = 0;  // 0 when tied
  std::int64_t norm_params = 0;  // every norm, the final one included
  std::int64_t params_total = 0;
  std::int64_t params_active = 0;
  double flops_per_token = 0;
  std::int64_t cache_bytes = 0;                  // per sequence, after query.context tokens
  std::map<std::string, TypeTotals> mixer_types;  // by mixer type: "attention", "mamba"
  std::map<std::string, TypeTotals> ffn_types;    // by ffn type: "mlp", "moe"
  bool estimated = false;                         // some layer was built to count it
  bool cache_known = true;                        // false when a mixer has no analytic cost
  std::int64_t activation_elements = 0;           // per sequence of query.context tokens (training)
  std::int64_t largest_layer_activation_elements = 0;
  std::int64_t largest_backward_elements = 0;     // a component's declared backward transient
  bool activations_known = true;                  // false when a component declares none

  std::string to_text() const;  // the per-layer table and the totals
  std::string to_json() const;  // the same as a JSON object (params_total, params_active, cache_bytes, ...)
};

// Plans the model of `experiment` (its [task] only sets the vocabulary when [model]
// vocab_size is 0). Never allocates weights of components that declare a cost.
ModelPlan plan_model(const Experiment& experiment, const ComponentRegistry& registry, const PlanQuery& query);

}  // namespace strata
