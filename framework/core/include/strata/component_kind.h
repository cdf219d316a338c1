#pragma once
// The kinds of model and experiment components; each kind has its own registry namespace.
#include <array>
#include <optional>
#include <string_view>

namespace strata {

enum class ComponentKind {
  mixer,    // sequence mixing [B, T, D] -> [B, T, D] (attention, mamba, shortconv, ...)
  ffn,      // per-token channel mixing [B, T, D] -> [B, T, D] (mlp, moe)
  router,   // token-to-expert assignment for moe
  balance,  // load-balancing terms over a routing
  stack,    // the per-layer plan: which mixer and ffn each layer uses
  task,       // a data source with evaluation metrics
  optimizer,  // the parameter update rule ([train.optimizer]; adamw built in)
  block,      // how a layer combines its mixer and ffn with norms and residuals ([model.block]; prenorm built in)
};

// The kinds are closed: a new kind of component needs an interface in components.h, an
// entry here and in component_kind_of (registry.h), and a place in an experiment's schema
// that names it. Everything within a kind (new mixers, routers, optimizers, blocks...) is
// open to plugins.
inline constexpr std::array<ComponentKind, 8> kAllComponentKinds = {
    ComponentKind::mixer, ComponentKind::ffn,  ComponentKind::router,    ComponentKind::balance,
    ComponentKind::stack, ComponentKind::task, ComponentKind::optimizer, ComponentKind::block};

std::string_view to_string(ComponentKind kind);
std::optional<ComponentKind> parse_component_kind(std::string_view name);

}  // namespace strata
