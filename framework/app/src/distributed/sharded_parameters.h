#pragma once
// What training does with parameters sharded over ranks (ParameterShard, strata/module.h:
// the experts of an moe ffn with expert_parallel): their gradient norm, their full tensors
// for a checkpoint, and their block of a checkpoint's full tensor on resume. Every function
// that gathers is a collective over the shards' groups: every rank calls it alike.
#include <string>
#include <utility>
#include <vector>

#include "strata/module.h"
#include "strata/tensor.h"

namespace strata {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

bool has_sharded_parameters(const std::vector<NamedParameter>& params);
// Elements of the whole model: a sharded parameter counts with its full rows.
std::int64_t full_parameter_count(const std::vector<NamedParameter>& params);

// The full tensor of a block: every rank's block of its shards group, in rank order.
Tensor gather_blocks(const Tensor& block, const ParameterShard& shard);
// This rank's block of a full tensor ([full_rows, ...]).
Tensor block_of(const Tensor& full, const ParameterShard& shard);

// The full tensor of every sharded parameter, by name, in parameter order.
NamedTensors gather_sharded_parameters(const std::vector<NamedParameter>& params);
// Optimizer state entries that belong to a sharded parameter ("<kind>.<parameter name>", of
// the block's shape: AdamW's m. and v.) replaced by their full tensors, or (for a resume)
// full entries replaced by this rank's block.
void gather_sharded_state(const std::vector<NamedParameter>& params, NamedTensors& state);
void slice_sharded_state(const std::vector<NamedParameter>& params, NamedTensors& state);

// The global L2 norm of the gradients, each sharded gradient counted once over its shards,
// and the same clipping as clip_grad_norm (optim.h). Returns the norm before clipping.
double clip_sharded_grad_norm(const std::vector<NamedParameter>& params, double max_norm);

}  // namespace strata
