#pragma once
// The vector math of vec_math-inl.h over arrays and single values, on the SIMD target in
// use (kernels/cpu/simd_targets.h). Kernels use the per-target header directly; these entry
// points serve tests and callers outside the kernels.
#include <cstdint>

namespace strata::kernels::cpu::vec {

// y[i] = f(x[i]) for i < n; every element gets the same bits whatever its position.
void exp(const float* x, float* y, std::int64_t n);
void log(const float* x, float* y, std::int64_t n);
void log1p(const float* x, float* y, std::int64_t n);
void tanh(const float* x, float* y, std::int64_t n);
void sigmoid(const float* x, float* y, std::int64_t n);
void erf(const float* x, float* y, std::int64_t n);

// One value, the same bits as the array functions give it.
float exp_scalar(float x);
float log_scalar(float x);
float log1p_scalar(float x);
float tanh_scalar(float x);
float sigmoid_scalar(float x);
float erf_scalar(float x);

}  // namespace strata::kernels::cpu::vec
