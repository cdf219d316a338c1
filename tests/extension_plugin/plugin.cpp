#include "extension.h"

namespace {

void register_components(strata::PluginRegistrar& registrar) {
  strata::extension_plugin::register_sgd_momentum(registrar);
  strata::extension_plugin::register_parallel_block(registrar);
  strata::extension_plugin::register_token_shift(registrar);
  strata::extension_plugin::register_token_shift_hf(registrar);
}

}  // namespace

STRATA_PLUGIN("extension", "0.1.0", register_components)
