#include "experts.h"

#include <strata/nn.h>
#include <strata/ops.h>

#include <cmath>

namespace strata::moe_plugin {

ExpertFfns::ExpertFfns(std::int64_t n_experts, std::int64_t d_model, std::int64_t d_ff, ExpertActivation activation,
                       Generator& gen, DType dtype)
    : activation_(activation) {
  const std::int64_t up_rows = activation == ExpertActivation::swiglu ? 2 * d_ff : d_ff;
  up_ = register_parameter(activation == ExpertActivation::swiglu ? "gate_up_proj" : "up_proj",
                           nn::uniform_init({n_experts, up_rows, d_model}, 1.0 / std::sqrt(double(d_model)), gen, dtype));
  down_ = register_parameter("down_proj",
                             nn::uniform_init({n_experts, d_model, d_ff}, 1.0 / std::sqrt(double(d_ff)), gen, dtype));
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
