#pragma once
// What the recurrent blocks (Mamba-1, Mamba-2, Gated DeltaNet) share: the depthwise causal
// convolution's parameters, the gated norm's scale and mamba_ssm's initialisation of the
// step-size bias.
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

// norm.weight [channels]: the scale of a gated RMSNorm (Hugging Face's MambaRMSNormGated,
// Qwen3NextRMSNormGated), ones.
class GatedNormScale : public Module {
 public:
  GatedNormScale(std::int64_t channels, DType dtype) {
    weight = register_parameter("weight", Tensor::ones({channels}, dtype), ParamFlags::no_weight_decay);
  }
  Tensor weight;
};

// [count] biases b with softplus(b) = dt, dt log-uniform on [dt_min, dt_max] and floored at
// `floor`: b = dt + log(-expm1(-dt)), the inverse softplus.
Tensor dt_bias_init(std::int64_t count, double dt_min, double dt_max, double floor, Generator& gen, DType dtype);

}  // namespace strata::mamba_plugin
