#pragma once
// What the Mamba-1 and Mamba-2 blocks share: the depthwise causal convolution's parameters
// and mamba_ssm's initialisation of the step-size bias.
#include <strata/module.h>
#include <strata/nn.h>
#include <strata/random.h>

#include <cstdint>

namespace strata::mamba_plugin {

// conv1d.weight [channels, width] and conv1d.bias [channels], Hugging Face's names (its
// weight is [channels, 1, width]). PyTorch's Conv1d default initialisation, fan_in = width.
class DepthwiseConv : public Module {
 public:
  DepthwiseConv(std::int64_t channels, std::int64_t width, bool bias, Generator& gen, DType dtype);
  Tensor weight, bias;
};

// [count] biases b with softplus(b) = dt, dt log-uniform on [dt_min, dt_max] and floored at
// `floor`: b = dt + log(-expm1(-dt)), the inverse softplus.
Tensor dt_bias_init(std::int64_t count, double dt_min, double dt_max, double floor, Generator& gen, DType dtype);

}  // namespace strata::mamba_plugin
