#pragma once
// The fused gated short convolution's compute, without autograd: plain functions over raw
// pointers, a CPU version (gated_conv_cpu.cpp, the reference) and a CUDA version
// (gated_conv_cuda.cu, built when the plugin is compiled with CUDA). gated_conv.cpp
// validates, records autograd and registers them in the backend table.
//
//   c[b, t, e] = bias[e] + sum_{j < K} w[e, j] * padded[b, t + j, e]
//   y[b, t, e] = c[b, t, e] * silu(gate[b, t, e])        (y = c without a gate)
#include <cstdint>
#include <string>

namespace example_plugin {

// All arrays contiguous, on the device the function runs on. Forward reads padded,
// weight, bias, gate and writes y; backward reads those and dy and writes dpadded,
// dweight, dbias and (with a gate) dgate, overwriting every element.
template <class T>
struct GatedConvArgs {
  std::int64_t batch = 0, seq_len = 0, channels = 0, kernel_size = 0;  // B, T, E, K
  const T* padded = nullptr;  // [B, K-1+T, E]
  const T* weight = nullptr;  // [E, K]
  const T* bias = nullptr;    // [E]
  const T* gate = nullptr;    // [B, T, E], or null: no gate
  T* y = nullptr;             // forward: [B, T, E]
  const T* dy = nullptr;      // backward: [B, T, E]
  T* dpadded = nullptr;       // backward: [B, K-1+T, E]
  T* dweight = nullptr;       // backward: [E, K]
  T* dbias = nullptr;         // backward: [E]
  T* dgate = nullptr;         // backward: [B, T, E] when gate is set
  T* dconv = nullptr;         // CUDA backward's workspace: [B, T, E] (dL/dc); unused on the CPU
};

// T: float, double.
template <class T>
void gated_conv_fwd_cpu(const GatedConvArgs<T>& args);
template <class T>
void gated_conv_bwd_cpu(const GatedConvArgs<T>& args);

// The same on CUDA device `device`: asynchronous, on the legacy default stream (where
// strata's own kernels run); returns the CUDA error's text, or "" on success.
// Deterministic: dweight and dbias are sums in a fixed order (no atomics).
template <class T>
std::string gated_conv_fwd_cuda(const GatedConvArgs<T>& args, int device);
template <class T>
std::string gated_conv_bwd_cuda(const GatedConvArgs<T>& args, int device);

}  // namespace example_plugin
