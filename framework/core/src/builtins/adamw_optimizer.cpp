// The built-in optimizer "adamw" (strata/optim.h).
#include "builtins/builtins.h"
#include "strata/optim.h"

namespace strata::builtins {

void register_adamw_optimizer(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::optimizer, "adamw",
                     "AdamW with bias correction and decoupled weight decay (Loshchilov & Hutter 2019)", adamw_schema(), {}};
  registry.add(std::move(spec), [](const Config& config, const BuildContext&) -> std::unique_ptr<Component> {
    return std::make_unique<AdamW>(adamw_options(config));
  });
}

}  // namespace strata::builtins
