// Drivers that apply a function to 1-3 arrays elementwise, threaded over large arrays.
// The f32 driver runs a vector function a whole SIMD vector at a time and pads the tail
// through a small buffer, so every element goes through the same vector code and results
// do not depend on an element's position or on how the range was split between threads.
// Per-target header: see vec_math-inl.h.

#if defined(STRATA_KERNELS_CPU_ELEMENTWISE_MAP_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef STRATA_KERNELS_CPU_ELEMENTWISE_MAP_INL_H_
#undef STRATA_KERNELS_CPU_ELEMENTWISE_MAP_INL_H_
#else
#define STRATA_KERNELS_CPU_ELEMENTWISE_MAP_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>
#include <utility>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd_io-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

// out[i] = f(in_0[i], ..., in_k[i]) with f: (Vec...) -> Vec on f32 vectors of the target.
template <class F, class... In>
void map_f32(float* out, std::int64_t n, F f, const In*... in) {
  parallel_for(n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
    const hn::ScalableTag<float> d;
    const std::int64_t lanes = std::int64_t(hn::Lanes(d));
    std::int64_t i = begin;
    for (; i + lanes <= end; i += lanes) hn::StoreU(f(hn::LoadU(d, in + i)...), d, out + i);
    if (i < end) {
      const std::size_t rest = std::size_t(end - i);
      store_partial(d, f(load_partial(d, in + i, rest)...), out + i, rest);
    }
  });
}

// Scalar driver (f64): out[i] = f(in_0[i], ..., in_k[i]).
template <class T, class F, class... In>
void map_scalar(T* out, std::int64_t n, F f, const In*... in) {
  parallel_for(n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = f(in[i]...);
  });
}

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
