#include "strata/component_kind.h"

namespace strata {

std::string_view to_string(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::mixer:
      return "mixer";
    case ComponentKind::ffn:
      return "ffn";
    case ComponentKind::router:
      return "router";
    case ComponentKind::balance:
      return "balance";
    case ComponentKind::stack:
      return "stack";
    case ComponentKind::task:
      return "task";
    case ComponentKind::optimizer:
      return "optimizer";
    case ComponentKind::block:
      return "block";
  }
  return "?";
}

std::optional<ComponentKind> parse_component_kind(std::string_view name) {
  for (ComponentKind k : kAllComponentKinds)
    if (to_string(k) == name) return k;
  return std::nullopt;
}

}  // namespace strata
