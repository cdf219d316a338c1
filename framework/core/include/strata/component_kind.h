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
  task,     // a data source with evaluation metrics
};

inline constexpr std::array<ComponentKind, 6> kAllComponentKinds = {ComponentKind::mixer,  ComponentKind::ffn,
                                                                    ComponentKind::router, ComponentKind::balance,
                                                                    ComponentKind::stack,  ComponentKind::task};

std::string_view to_string(ComponentKind kind);
std::optional<ComponentKind> parse_component_kind(std::string_view name);

}  // namespace strata
