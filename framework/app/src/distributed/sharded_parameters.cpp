#include "distributed/sharded_parameters.h"

#include <cmath>
#include <cstring>
#include <map>

#include "strata/autograd.h"
#include "strata/communicator.h"
#include "strata/error.h"
#include "strata/ops.h"

namespace strata {

namespace {

// The shard of the parameter that owns a state entry ("m.layers.0.ffn.experts.down_proj"),
// or null.
const NamedParameter* owner_of(const std::vector<NamedParameter>& params, const std::string& entry) {
  for (const NamedParameter& p : params) {
    if (!p.shard) continue;
    const std::string suffix = "." + p.name;
    if (entry.size() > suffix.size() && entry.compare(entry.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &p;
  }
  return nullptr;
}

}  // namespace

bool has_sharded_parameters(const std::vector<NamedParameter>& params) {
  for (const NamedParameter& p : params)
    if (p.shard) return true;
  return false;
}

std::int64_t full_parameter_count(const std::vector<NamedParameter>& params) {
  std::int64_t total = 0;
  for (const NamedParameter& p : params)
    total += p.shard ? p.tensor.numel() / p.tensor.size(0) * p.shard->full_rows : p.tensor.numel();
  return total;
}

Tensor gather_blocks(const Tensor& block, const ParameterShard& shard) {
  const Tensor local = block.detach().contiguous();
  const std::size_t bytes = std::size_t(local.numel()) * dtype_size(local.dtype());
  const std::vector<std::string> blocks =
      shard.shards->all_gather(std::string(static_cast<const char*>(local.raw_data()), bytes));
  std::vector<std::int64_t> dims(local.shape().begin(), local.shape().end());
  dims[0] = shard.full_rows;
  Tensor full = Tensor::zeros(Shape(std::span<const std::int64_t>(dims)), local.dtype());
  if (std::int64_t(blocks.size()) * local.size(0) != shard.full_rows)
    throw ValueError("gather_blocks: " + std::to_string(blocks.size()) + " blocks of " + std::to_string(local.size(0)) +
                     " rows do not make the " + std::to_string(shard.full_rows) + " rows of the full tensor");
  char* out = static_cast<char*>(full.raw_data());
  for (const std::string& b : blocks) {
    if (b.size() != bytes) throw ValueError("gather_blocks: the ranks' blocks differ in size");
    std::memcpy(out, b.data(), bytes);
    out += bytes;
  }
  return full;
}

Tensor block_of(const Tensor& full, const ParameterShard& shard) {
  const std::int64_t blocks = shard.shards->size(), rows = shard.full_rows / blocks;
  if (full.rank() == 0 || full.size(0) != shard.full_rows)
    throw ValueError("a sharded tensor of " + std::to_string(shard.full_rows) + " rows was expected, got shape " +
                     full.shape().to_string());
  const std::int64_t first = rows * shard.shards->rank();
  return full.slice(0, first, first + rows).contiguous();
}

NamedTensors gather_sharded_parameters(const std::vector<NamedParameter>& params) {
  NamedTensors out;
  for (const NamedParameter& p : params)
    if (p.shard) out.emplace_back(p.name, gather_blocks(p.tensor, *p.shard));
  return out;
}

void gather_sharded_state(const std::vector<NamedParameter>& params, NamedTensors& state) {
  for (auto& [name, tensor] : state)
    if (const NamedParameter* p = owner_of(params, name); p != nullptr && tensor.shape() == p->tensor.shape())
      tensor = gather_blocks(tensor, *p->shard);
}

void slice_sharded_state(const std::vector<NamedParameter>& params, NamedTensors& state) {
  for (auto& [name, tensor] : state)
    if (const NamedParameter* p = owner_of(params, name); p != nullptr && tensor.rank() > 0 &&
                                                          tensor.size(0) == p->shard->full_rows)
      tensor = block_of(tensor, *p->shard);
}

double clip_sharded_grad_norm(const std::vector<NamedParameter>& params, double max_norm) {
  autograd::NoGradGuard no_grad;
  double total = 0;
  // Each sharded gradient's squares summed over its shards, one sum per group (in
  // parameter order: the same on every rank).
  std::vector<std::pair<Communicator*, double>> sharded;
  for (const NamedParameter& p : params) {
    const Tensor g = p.tensor.grad();
    const double squares = g.defined() ? sum(square(g)).item() : 0.0;
    if (!p.shard) {
      total += squares;
      continue;
    }
    if (sharded.empty() || sharded.back().first != p.shard->shards) sharded.emplace_back(p.shard->shards, 0.0);
    sharded.back().second += squares;
  }
  for (auto& [group, squares] : sharded) {
    group->all_reduce_sum(std::span<double>(&squares, 1));
    total += squares;
  }
  const double norm = std::sqrt(total);
  if (max_norm > 0 && norm > max_norm && std::isfinite(norm)) {
    const double factor = max_norm / (norm + 1e-6);
    for (const NamedParameter& p : params) {
      Tensor g = p.tensor.grad();
      if (g.defined()) g.mul_(factor);
    }
  }
  return norm;
}

}  // namespace strata
