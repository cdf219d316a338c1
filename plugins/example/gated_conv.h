#pragma once
// A plugin-defined op with its own fused kernels: the example of how a plugin adds a kernel
// to the backend table without touching framework/ (docs/writing-a-plugin.md, "Fused ops").
//
//   c[b, t, e] = bias[e] + sum_{j < K} w[e, j] * padded[b, t + j, e]
//   y[b, t, e] = c[b, t, e] * silu(gate[b, t, e])        (y = c without a gate)
//
// shortconv's whole convolution-and-gate in one pass over memory, where the composition of
// existing ops makes K + 3 passes and keeps every intermediate for the backward.
#include <strata/plugin.h>
#include <strata/tensor.h>

namespace example_plugin {

// padded: [B, K-1+T, E] (history, then the T new rows), weight: [E, K], bias: [E],
// gate: [B, T, E] or undefined -> y: [B, T, E]. Differentiable in all four.
strata::Tensor gated_short_conv(const strata::Tensor& padded, const strata::Tensor& weight, const strata::Tensor& bias,
                                const strata::Tensor& gate);

// Registers the op's kernels (forward and backward) in the backend table: CPU, and CUDA
// where the plugin is built with it (gated_conv_kernels.h).
void register_gated_conv_kernels(strata::PluginRegistrar& registrar);

}  // namespace example_plugin
