#include "builtins/builtins.h"

namespace strata {

void register_builtin_components(ComponentRegistry& registry) {
  builtins::register_mlp(registry);
  builtins::register_pattern_stack(registry);
  builtins::register_copy_task(registry);
  builtins::register_text_task(registry);
}

}  // namespace strata
