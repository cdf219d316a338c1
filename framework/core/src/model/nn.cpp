#include "strata/nn.h"

#include <cmath>

#include "strata/error.h"
#include "strata/ops.h"

namespace strata::nn {

std::int64_t default_ffn_hidden(bool gated, std::int64_t d_model) {
  if (!gated) return 4 * d_model;
  const auto h = static_cast<std::int64_t>(std::ceil(8.0 * double(d_model) / 3.0));
  return (h + 7) / 8 * 8;
}

Tensor uniform_init(const Shape& shape, double bound, Generator& gen, DType dtype) {
  return Tensor::rand(shape, gen, dtype, -bound, bound);
}

Tensor normal_init(const Shape& shape, double std, Generator& gen, DType dtype) {
  return Tensor::randn(shape, gen, dtype, 0.0, std);
}

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Generator& gen, DType dtype) {
  if (in_features <= 0 || out_features <= 0) {
    throw ValueError("Linear(" + std::to_string(in_features) + ", " + std::to_string(out_features) +
                     "): sizes must be positive");
  }
  const double bound = 1.0 / std::sqrt(double(in_features));
  weight_ = register_parameter("weight", uniform_init({out_features, in_features}, bound, gen, dtype));
  if (bias)
    bias_ = register_parameter("bias", uniform_init({out_features}, bound, gen, dtype), ParamFlags::no_weight_decay);
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight_, bias_); }

Embedding::Embedding(std::int64_t vocab_size, std::int64_t dim, double std, Generator& gen, DType dtype) {
  weight_ = register_parameter("weight", normal_init({vocab_size, dim}, std, gen, dtype));
}

Tensor Embedding::forward(const Tensor& ids) const { return embedding(weight_, ids); }

NormKind parse_norm_kind(const std::string& name) {
  if (name == "rmsnorm") return NormKind::rmsnorm;
  if (name == "layernorm") return NormKind::layernorm;
  throw ValueError("unknown norm '" + name + "'", "use \"rmsnorm\" or \"layernorm\"");
}

Norm::Norm(NormKind kind, std::int64_t dim, double eps, DType dtype) : kind_(kind), eps_(eps) {
  weight_ = register_parameter("weight", Tensor::ones({dim}, dtype), ParamFlags::no_weight_decay);
  if (kind == NormKind::layernorm) {
    bias_ = register_parameter("bias", Tensor::zeros({dim}, dtype), ParamFlags::no_weight_decay);
  }
}

Tensor Norm::forward(const Tensor& x) const {
  return kind_ == NormKind::rmsnorm ? rmsnorm(x, weight_, eps_) : layernorm(x, weight_, bias_, eps_);
}

}  // namespace strata::nn
