#pragma once
// What Model::build and plan_model share: the stack's layer plan and entry lookup.
#include <string>
#include <vector>

#include "strata/components.h"
#include "strata/config.h"
#include "strata/registry.h"

namespace strata::detail {

// The [model.<key>.<entry>] table (key: "mixer" or "ffn"); ConfigError when undeclared.
const Config& model_entry_config(const Config& model, const std::string& key, const std::string& entry);

// The model's dimensions: the task's vocabulary and sequence length in `task_dims`, with
// [model] d_model, n_layers and vocab_size applied (ConfigError when it is too small).
ModelDims resolve_model_dims(const Config& model, ModelDims task_dims);

// The stack's plan of n_layers layers (ctx.dims filled in); ConfigError on a wrong count.
std::vector<LayerSpec> plan_layers(const Config& model, const ComponentRegistry& registry, const BuildContext& ctx);

}  // namespace strata::detail
