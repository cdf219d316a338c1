#pragma once
// LayerNorm over rows: y = (x - mean) * rstd * w + b, rstd = 1 / sqrt(var + eps),
// var the biased variance (divides by cols), as PyTorch.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct LayerNormArgs {
  std::int64_t rows = 0, cols = 0;
  T eps = T(1e-5);
  const T* x = nullptr;       // [rows, cols]
  const T* weight = nullptr;  // [cols] or nullptr
  const T* bias = nullptr;    // [cols] or nullptr
  T* y = nullptr;             // [rows, cols] forward output
  T* mean = nullptr;          // [rows] forward output, saved for backward
  T* rstd = nullptr;          // [rows] forward output, saved for backward
  // backward
  const T* g = nullptr;  // [rows, cols]
  T* dx = nullptr;       // [rows, cols]
  T* dweight = nullptr;  // [cols] (overwritten) or nullptr
  T* dbias = nullptr;    // [cols] (overwritten) or nullptr
};

template <class T>
void layernorm_fwd_cpu(const LayerNormArgs<T>& args);
// xhat = (x - mean) rstd, gw = g w:
// dx = rstd (gw - mean(gw) - xhat mean(gw xhat));  dweight = sum g xhat;  dbias = sum g
template <class T>
void layernorm_bwd_cpu(const LayerNormArgs<T>& args);

}  // namespace strata::kernels::cpu
