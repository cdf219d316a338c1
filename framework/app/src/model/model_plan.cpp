#include "strata/model_plan.h"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/model_layers.h"
#include "strata/error.h"
#include "strata/memory_plan.h"
#include "strata/nn.h"

namespace strata {

std::size_t plan_dtype_bytes(const std::string& dtype) {
  if (dtype == "f32") return 4;
  if (dtype == "bf16" || dtype == "f16") return 2;
  if (dtype == "f64") return 8;
  throw ValueError("unknown cache dtype '" + dtype + "'", "use f32, bf16, f16 or f64");
}

namespace {

// The cost of one mixer or ffn: its analytic cost, or (none declared) built and counted.
ComponentCost component_cost(ComponentKind kind, const Config& config, const ComponentRegistry& registry,
                             const BuildContext& ctx, const PlanQuery& query, bool& estimated) {
  if (auto cost = registry.cost(kind, config, ctx, CostQuery{query.context})) return *cost;
  estimated = true;
  const auto built = std::static_pointer_cast<Module>(registry.create_any(kind, config, ctx));
  ComponentCost cost;
  cost.params = cost.active_params = built->num_parameters();
  cost.flops_per_token = 2.0 * double(cost.params);
  cost.state_elements = -1;  // unknown (activation_elements stays -1 too)
  return cost;
}

// Counts as "51.57 B" / "129.14 M"; FLOPs (unit given) as "40.89 GFLOP".
std::string human(double n, const char* unit = nullptr) {
  const char* big = unit ? "G" : "B";  // a billion parameters, a giga-FLOP
  const char* suffix = unit ? unit : "";
  char buffer[64];
  const double a = std::abs(n);
  if (a >= 1e12)
    std::snprintf(buffer, sizeof buffer, "%.2f T%s", n / 1e12, suffix);
  else if (a >= 1e9)
    std::snprintf(buffer, sizeof buffer, "%.2f %s%s", n / 1e9, big, suffix);
  else if (a >= 1e6)
    std::snprintf(buffer, sizeof buffer, "%.2f M%s", n / 1e6, suffix);
  else if (a >= 1e3)
    std::snprintf(buffer, sizeof buffer, "%.2f K%s", n / 1e3, suffix);
  else
    std::snprintf(buffer, sizeof buffer, "%.0f %s", n, suffix);
  return buffer;
}

}  // namespace

ModelPlan plan_model(const Experiment& e, const ComponentRegistry& registry, const PlanQuery& query) {
  if (query.context < 0) throw ValueError("the context length must be >= 0, got " + std::to_string(query.context));
  const std::size_t element_bytes = plan_dtype_bytes(query.dtype);
  Generator gen(static_cast<std::uint64_t>(e.train.integer("seed")));
  BuildContext ctx;
  ctx.gen = &gen;
  ctx.registry = &registry;
  ModelDims task_dims;
  make_experiment_task(e, ctx, task_dims);
  ModelPlan plan;
  plan.query = query;
  plan.dims = ctx.dims = detail::resolve_model_dims(e.model, task_dims);
  plan.tied = e.model.boolean("tie_embeddings");
  const std::int64_t D = plan.dims.d_model, V = plan.dims.vocab_size;
  const std::int64_t norm_size = nn::parse_norm_kind(e.model.string("norm")) == nn::NormKind::layernorm ? 2 * D : D;

  const std::vector<LayerSpec> layers = detail::plan_layers(e.model, registry, ctx);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    ctx.layer = int(i);
    LayerCostRow row;
    row.index = int(i);
    row.mixer_entry = layers[i].mixer;
    const Config& mixer = detail::model_entry_config(e.model, "mixer", layers[i].mixer);
    row.mixer_type = mixer.type();
    row.mixer = component_cost(ComponentKind::mixer, mixer, registry, ctx, query, row.estimated);
    row.norm_params = norm_size;
    if (!layers[i].ffn.empty()) {
      row.ffn_entry = layers[i].ffn;
      const Config& ffn = detail::model_entry_config(e.model, "ffn", layers[i].ffn);
      row.ffn_type = ffn.type();
      row.ffn = component_cost(ComponentKind::ffn, ffn, registry, ctx, query, row.estimated);
      row.norm_params += norm_size;
    }
    TypeTotals& m = plan.mixer_types[row.mixer_type];
    ++m.layers;
    m.params += row.mixer.params;
    m.active_params += row.mixer.active_params;
    if (row.mixer.state_elements >= 0) {
      m.cache_bytes += row.mixer.state_elements * std::int64_t(element_bytes);
    } else {
      plan.cache_known = false;
    }
    if (!row.ffn_type.empty()) {
      TypeTotals& f = plan.ffn_types[row.ffn_type];
      ++f.layers;
      f.params += row.ffn.params;
      f.active_params += row.ffn.active_params;
    }
    plan.estimated = plan.estimated || row.estimated;
    plan.layers.push_back(std::move(row));
  }

  plan.embedding_params = V * D;
  plan.head_params = plan.tied ? 0 : V * D;
  plan.norm_params = norm_size;  // the final norm
  plan.params_total = plan.params_active = plan.embedding_params + plan.head_params;
  plan.flops_per_token = 2.0 * double(V * D);  // the LM head
  for (const LayerCostRow& row : plan.layers) {
    plan.norm_params += row.norm_params;
    plan.params_total += row.mixer.params + row.ffn.params;
    plan.params_active += row.mixer.active_params + row.ffn.active_params;
    plan.flops_per_token += row.mixer.flops_per_token + row.ffn.flops_per_token;
  }
  plan.params_total += plan.norm_params;
  plan.params_active += plan.norm_params;
  // Activations: the model's own per token are the embedding's output, per sublayer the
  // norm's output and statistics (rmsnorm 1, layernorm 2) and the residual sum, the final
  // norm's output and statistics, and the logits.
  const std::int64_t T = query.context, stats = norm_size == D ? 1 : 2;
  plan.activation_elements = T * (D + D + stats + V);
  for (const LayerCostRow& row : plan.layers) {
    std::int64_t layer = T * (2 * D + stats) * (row.ffn_type.empty() ? 1 : 2);
    const ComponentCost* ffn = row.ffn_type.empty() ? nullptr : &row.ffn;
    for (const ComponentCost* c : {&row.mixer, ffn}) {
      if (c == nullptr) continue;
      if (c->activation_elements < 0) plan.activations_known = false;
      else layer += c->activation_elements;
      plan.largest_backward_elements = std::max(plan.largest_backward_elements, c->backward_elements);
    }
    plan.activation_elements += layer;
    plan.largest_layer_activation_elements = std::max(plan.largest_layer_activation_elements, layer);
  }
  for (const auto& [type, totals] : plan.mixer_types) plan.cache_bytes += totals.cache_bytes;
  return plan;
}

std::string ModelPlan::to_text() const {
  std::ostringstream os;
  os << "model: d_model " << dims.d_model << ", " << dims.n_layers << " layers, vocab " << dims.vocab_size
     << ", LM head " << (tied ? "tied to the embedding" : "untied") << "\n";
  const bool cache = query.context > 0;
  os << std::left << std::setw(7) << "layer" << std::setw(24) << "mixer" << std::right << std::setw(15) << "params"
     << "   " << std::left << std::setw(22) << "ffn" << std::right << std::setw(15) << "params" << std::setw(15)
     << "active";
  if (cache) os << std::setw(14) << "cache";
  os << "\n";
  for (const LayerCostRow& r : layers) {
    os << std::left << std::setw(7) << r.index << std::setw(24) << (r.mixer_entry + " (" + r.mixer_type + ")")
       << std::right << std::setw(15) << r.mixer.params << "   " << std::left << std::setw(22)
       << (r.ffn_entry.empty() ? std::string("-") : r.ffn_entry + " (" + r.ffn_type + ")") << std::right
       << std::setw(15) << r.ffn.params << std::setw(15) << r.ffn.active_params;
    if (cache)
      os << std::setw(14)
         << (r.mixer.state_elements < 0 ? std::string("?")
                                        : format_bytes(double(r.mixer.state_elements) * double(plan_dtype_bytes(query.dtype))));
    os << (r.estimated ? "  (built to count)" : "") << "\n";
  }
  os << "by layer type:\n";
  for (const auto& [type, t] : mixer_types) {
    os << "  mixer " << std::left << std::setw(14) << type << std::right << std::setw(4) << t.layers << " layers "
       << std::setw(15) << t.params << " params";
    if (cache) os << "   cache " << format_bytes(double(t.cache_bytes));
    os << "\n";
  }
  for (const auto& [type, t] : ffn_types) {
    os << "  ffn   " << std::left << std::setw(14) << type << std::right << std::setw(4) << t.layers << " layers "
       << std::setw(15) << t.params << " params " << std::setw(15) << t.active_params << " active\n";
  }
  os << "parameters:\n";
  os << "  embedding   " << std::setw(15) << embedding_params << "\n";
  if (!tied) os << "  LM head     " << std::setw(15) << head_params << "\n";
  os << "  norms       " << std::setw(15) << norm_params << "\n";
  os << "  total       " << std::setw(15) << params_total << "  (" << human(double(params_total)) << ")\n";
  os << "  active      " << std::setw(15) << params_active << "  (" << human(double(params_active))
     << ") per token\n";
  os << "forward: " << human(flops_per_token, "FLOP") << " per token at context " << query.context
     << (estimated ? " (estimated for components built to count)" : "") << "\n";
  if (cache) {
    os << "decode cache: " << (cache_known ? format_bytes(double(cache_bytes)) : std::string("unknown"))
       << " per sequence at context " << query.context << " in " << query.dtype << " (" << cache_bytes
       << " bytes)\n";
  }
  return os.str();
}

std::string ModelPlan::to_json() const {
  nlohmann::ordered_json j;
  j["d_model"] = dims.d_model;
  j["n_layers"] = dims.n_layers;
  j["vocab_size"] = dims.vocab_size;
  j["tie_embeddings"] = tied;
  j["params_total"] = params_total;
  j["params_active"] = params_active;
  j["params_embedding"] = embedding_params;
  j["params_lm_head"] = head_params;
  j["params_norms"] = norm_params;
  j["context"] = query.context;
  j["flops_per_token"] = flops_per_token;
  j["estimated"] = estimated;
  if (query.context > 0) {
    j["cache_dtype"] = query.dtype;
    if (cache_known)
      j["cache_bytes"] = cache_bytes;
    else
      j["cache_bytes"] = nullptr;
  }
  nlohmann::ordered_json mixers = nlohmann::ordered_json::object(), ffns = nlohmann::ordered_json::object();
  for (const auto& [type, t] : mixer_types) {
    mixers[type] = {{"layers", t.layers}, {"params", t.params}};
    if (query.context > 0) mixers[type]["cache_bytes"] = t.cache_bytes;
  }
  for (const auto& [type, t] : ffn_types)
    ffns[type] = {{"layers", t.layers}, {"params", t.params}, {"active_params", t.active_params}};
  j["mixers"] = mixers;
  j["ffns"] = ffns;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const LayerCostRow& r : layers) {
    nlohmann::ordered_json row;
    row["index"] = r.index;
    row["mixer"] = r.mixer_type;
    row["mixer_entry"] = r.mixer_entry;
    row["mixer_params"] = r.mixer.params;
    if (r.ffn_type.empty())
      row["ffn"] = nullptr;
    else
      row["ffn"] = r.ffn_type;
    row["ffn_params"] = r.ffn.params;
    row["ffn_active_params"] = r.ffn.active_params;
    row["flops_per_token"] = r.mixer.flops_per_token + r.ffn.flops_per_token;
    if (query.context > 0) {
      if (r.mixer.state_elements < 0)
        row["cache_bytes"] = nullptr;
      else
        row["cache_bytes"] = r.mixer.state_elements * std::int64_t(plan_dtype_bytes(query.dtype));
    }
    rows.push_back(row);
  }
  j["layers"] = rows;
  return j.dump(2) + "\n";
}

}  // namespace strata
