#include "builtins/builtins.h"

namespace strata {

void register_builtin_components(ComponentRegistry& registry) {
  builtins::register_mlp(registry);
  builtins::register_pattern_stack(registry);
  builtins::register_copy_task(registry);
  builtins::register_text_task(registry);
  builtins::register_packed_task(registry);
  builtins::register_mqar_task(registry);
  builtins::register_selective_copy_task(registry);
  builtins::register_induction_heads_task(registry);
  builtins::register_associative_recall_task(registry);
  builtins::register_prenorm_block(registry);
  builtins::register_adamw_optimizer(registry);
}

}  // namespace strata
