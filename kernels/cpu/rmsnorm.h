#pragma once
// RMSNorm over rows: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps).
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct RmsNormArgs {
  std::int64_t rows = 0, cols = 0;
  T eps = T(1e-5);
  const T* x = nullptr;       // [rows, cols]
  const T* weight = nullptr;  // [cols] or nullptr (no affine weight)
  T* y = nullptr;             // [rows, cols] forward output
  T* rstd = nullptr;          // [rows] forward output, saved for backward
  // backward
  const T* g = nullptr;  // [rows, cols] upstream gradient
  T* dx = nullptr;       // [rows, cols]
  T* dweight = nullptr;  // [cols] (overwritten) or nullptr
};

template <class T>
void rmsnorm_fwd_cpu(const RmsNormArgs<T>& args);
// dx = rstd * (g w - x rstd^2 <g w, x> / cols);  dweight = sum_rows g x rstd
template <class T>
void rmsnorm_bwd_cpu(const RmsNormArgs<T>& args);

}  // namespace strata::kernels::cpu
