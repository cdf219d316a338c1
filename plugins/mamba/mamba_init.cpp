#include "mamba_init.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace strata::mamba_plugin {

DepthwiseConv::DepthwiseConv(std::int64_t channels, std::int64_t width, bool with_bias, Generator& gen, DType dtype) {
  const double bound = 1.0 / std::sqrt(double(width));
  weight = register_parameter("weight", nn::uniform_init({channels, width}, bound, gen, dtype));
  if (with_bias)
    bias = register_parameter("bias", nn::uniform_init({channels}, bound, gen, dtype), ParamFlags::no_weight_decay);
}

Tensor dt_bias_init(std::int64_t count, double dt_min, double dt_max, double floor, Generator& gen, DType dtype) {
  const Tensor unit = Tensor::rand({count}, gen, DType::f64, 0.0, 1.0);
  std::vector<double> bias = unit.to_vector<double>();
  const double log_min = std::log(dt_min), log_max = std::log(dt_max);
  for (double& b : bias) {
    const double dt = std::max(std::exp(b * (log_max - log_min) + log_min), floor);
    b = dt + std::log(-std::expm1(-dt));
  }
  return Tensor::from_vector(bias, {count}).to(dtype);
}

}  // namespace strata::mamba_plugin
