#pragma once
// Framework-internal: the built-in components, one file each, added to a registry by
// register_builtin_components (registry.h).
#include "strata/registry.h"

namespace strata::builtins {

void register_mlp(ComponentRegistry& registry);            // ffn "mlp"
void register_pattern_stack(ComponentRegistry& registry);  // stack "pattern"
void register_copy_task(ComponentRegistry& registry);      // task "copy"
void register_text_task(ComponentRegistry& registry);      // task "text"

}  // namespace strata::builtins
