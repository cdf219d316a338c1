#include "experts.h"

#include <strata/nn.h>
#include <strata/ops.h>

#include <cmath>

namespace strata::moe_plugin {

namespace {

const char* up_name(ExpertActivation activation) {
  return activation == ExpertActivation::swiglu ? "gate_up_proj" : "up_proj";
}

// up: [E, 2F, D] (swiglu) or [E, F, D]; down: [E, D, F]
std::pair<Tensor, Tensor> initial_weights(std::int64_t n_experts, std::int64_t d_model, std::int64_t d_ff,
                                          ExpertActivation activation, Generator& gen, DType dtype) {
  const std::int64_t up_rows = activation == ExpertActivation::swiglu ? 2 * d_ff : d_ff;
  Tensor up = nn::uniform_init({n_experts, up_rows, d_model}, 1.0 / std::sqrt(double(d_model)), gen, dtype);
  Tensor down = nn::uniform_init({n_experts, d_model, d_ff}, 1.0 / std::sqrt(double(d_ff)), gen, dtype);
  return {std::move(up), std::move(down)};
}

}  // namespace

ExpertFfns::ExpertFfns(std::int64_t n_experts, std::int64_t d_model, std::int64_t d_ff, ExpertActivation activation,
                       Generator& gen, DType dtype)
    : activation_(activation) {
  auto [up, down] = initial_weights(n_experts, d_model, d_ff, activation, gen, dtype);
  up_ = register_parameter(up_name(activation), std::move(up));
  down_ = register_parameter("down_proj", std::move(down));
}

ExpertFfns::ExpertFfns(std::int64_t n_experts, std::int64_t d_model, std::int64_t d_ff, ExpertActivation activation,
                       Generator& gen, DType dtype, std::int64_t first, std::int64_t count,
                       std::shared_ptr<const ParameterShard> shard)
    : activation_(activation) {
  auto [up, down] = initial_weights(n_experts, d_model, d_ff, activation, gen, dtype);
  up_ = register_sharded_parameter(up_name(activation), up.slice(0, first, first + count).contiguous(), shard);
  down_ = register_sharded_parameter("down_proj", down.slice(0, first, first + count).contiguous(), shard);
}

Tensor ExpertFfns::forward(const Tensor& xs, const Tensor& counts) const {
  Tensor h = grouped_matmul(xs, up_, counts);  // [S, 2F] or [S, F]
  h = activation_ == ExpertActivation::swiglu ? swiglu(h) : gelu(h);
  return grouped_matmul(h, down_, counts);  // [S, D]
}

std::int64_t ExpertFfns::macs_per_token() const {
  return (activation_ == ExpertActivation::swiglu ? 3 : 2) * down_.size(1) * down_.size(2);
}

}  // namespace strata::moe_plugin
