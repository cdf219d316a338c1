// The array and single-value entry points of vec_math.h, compiled for every SIMD target.
#include "kernels/cpu/vec_math.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/vec_math.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/cpu/elementwise_map-inl.h"
#include "kernels/cpu/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

#define STRATA_VEC_ENTRY_POINTS(name)                                 \
  void vec_##name##_array(const float* x, float* y, std::int64_t n) { \
    map_f32(                                                          \
        y, n, [](auto v) { return vec::name(v); }, x);                \
  }                                                                   \
  float vec_##name##_one(float x) {                                   \
    return vec::one(x, [](auto v) { return vec::name(v); });          \
  }
STRATA_VEC_ENTRY_POINTS(exp)
STRATA_VEC_ENTRY_POINTS(log)
STRATA_VEC_ENTRY_POINTS(log1p)
STRATA_VEC_ENTRY_POINTS(tanh)
STRATA_VEC_ENTRY_POINTS(sigmoid)
STRATA_VEC_ENTRY_POINTS(erf)
#undef STRATA_VEC_ENTRY_POINTS

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

#define STRATA_VEC_DISPATCH(name)                                                                                 \
  HWY_EXPORT(vec_##name##_array);                                                                                 \
  HWY_EXPORT(vec_##name##_one);                                                                                   \
  void vec::name(const float* x, float* y, std::int64_t n) { HWY_DYNAMIC_DISPATCH(vec_##name##_array)(x, y, n); } \
  float vec::name##_scalar(float x) { return HWY_DYNAMIC_DISPATCH(vec_##name##_one)(x); }
STRATA_VEC_DISPATCH(exp)
STRATA_VEC_DISPATCH(log)
STRATA_VEC_DISPATCH(log1p)
STRATA_VEC_DISPATCH(tanh)
STRATA_VEC_DISPATCH(sigmoid)
STRATA_VEC_DISPATCH(erf)
#undef STRATA_VEC_DISPATCH

}  // namespace strata::kernels::cpu
#endif
