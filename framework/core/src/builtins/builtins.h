#pragma once
// Framework-internal: the built-in components, one file each, added to a registry by
// register_builtin_components (registry.h).
#include <cstdint>

#include "strata/registry.h"

namespace strata::builtins {

void register_mlp(ComponentRegistry& registry);                      // ffn "mlp"
void register_pattern_stack(ComponentRegistry& registry);            // stack "pattern"
void register_copy_task(ComponentRegistry& registry);                // task "copy"
void register_text_task(ComponentRegistry& registry);                // task "text"
void register_packed_task(ComponentRegistry& registry);              // task "packed"
void register_mqar_task(ComponentRegistry& registry);                // task "mqar"
void register_selective_copy_task(ComponentRegistry& registry);      // task "selective_copy"
void register_induction_heads_task(ComponentRegistry& registry);     // task "induction_heads"
void register_associative_recall_task(ComponentRegistry& registry);  // task "associative_recall"
void register_prenorm_block(ComponentRegistry& registry);            // block "prenorm"
void register_adamw_optimizer(ComponentRegistry& registry);          // optimizer "adamw"

// The counter at which a task's evaluation item i (an example or a batch) starts drawing
// from Generator(eval_seed): above 2^63, where no training stream (counting up from 0,
// whatever its key, eval_seed == 2 * train.seed + 1 included) ever reaches.
inline std::uint64_t evaluation_counter(std::uint64_t item) { return (std::uint64_t(1) << 63) | (item << 32); }

}  // namespace strata::builtins
