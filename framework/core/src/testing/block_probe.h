#pragma once
// Framework-internal: a block under test, seen as a mixer so that the mixer checks
// (shape, gradient, causality, decoding) cover it. The block is assembled around a small
// causal probe mixer that decodes (y_t = W x_t + U x_{t-1}) and the built-in mlp.
#include <memory>

#include "strata/components.h"
#include "strata/registry.h"

namespace strata::testing {

// ctx: dims, dtype and generator for the block and its parts.
std::shared_ptr<Mixer> block_probe(const ComponentRegistry& registry, const Config& block_config, const BuildContext& ctx);

}  // namespace strata::testing
