#pragma once
// Building blocks for components: linear layers, embeddings and norms as Modules, and
// the initialisers they use. Each is created in a given dtype (f32 for training, f64
// for gradient checks) from an explicit Generator.
#include <cstdint>
#include <string>

#include "strata/module.h"
#include "strata/random.h"
#include "strata/tensor.h"

namespace strata::nn {

// uniform(-bound, bound), the PyTorch default for nn.Linear with bound = 1/sqrt(fan_in).
Tensor uniform_init(const Shape& shape, double bound, Generator& gen, DType dtype);
Tensor normal_init(const Shape& shape, double std, Generator& gen, DType dtype);

// Hidden width of a feed-forward block when none is given: 4 d_model without a gate (GELU);
// 8/3 d_model rounded up to a multiple of 8 with one (SwiGLU), the same parameter count
// as LLaMA's.
std::int64_t default_ffn_hidden(bool gated, std::int64_t d_model);

// y = x W^T + b.  weight: [out, in] ~ U(+-1/sqrt(in)), bias: [out] (same bound; no weight decay).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Generator& gen, DType dtype = DType::f32);
  // x: [..., in] -> [..., out]
  Tensor forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined without bias
  std::int64_t in_features() const { return weight_.size(1); }
  std::int64_t out_features() const { return weight_.size(0); }

 private:
  Tensor weight_;
  Tensor bias_;
};

// weight: [V, D] ~ N(0, std).
class Embedding : public Module {
 public:
  Embedding(std::int64_t vocab_size, std::int64_t dim, double std, Generator& gen, DType dtype = DType::f32);
  // ids: [...] i64 -> [..., D]
  Tensor forward(const Tensor& ids) const;
  const Tensor& weight() const { return weight_; }

 private:
  Tensor weight_;
};

enum class NormKind { rmsnorm, layernorm };
NormKind parse_norm_kind(const std::string& name);  // "rmsnorm" | "layernorm"

// RMSNorm (weight) or LayerNorm (weight and bias) over the last axis; weights start at
// 1 (bias 0) and carry no weight decay.
class Norm : public Module {
 public:
  Norm(NormKind kind, std::int64_t dim, double eps, DType dtype = DType::f32);
  // x: [..., D] -> [..., D]
  Tensor forward(const Tensor& x) const;
  NormKind kind() const { return kind_; }

 private:
  NormKind kind_;
  double eps_;
  Tensor weight_;
  Tensor bias_;
};

}  // namespace strata::nn
