#pragma once
// Drivers that apply a function to 1-3 arrays elementwise, threaded over large arrays.
// The f32 driver runs a vector function 8 lanes at a time and pads the tail through a
// small buffer, so every element goes through the same vector code and results do not
// depend on an element's position or on how the range was split between threads.
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/cpu/parallel.h"

namespace strata::kernels::cpu {

#if defined(__AVX2__) && defined(__FMA__)
namespace detail {
template <class F, std::size_t... I>
inline __m256 call_on_lanes(F& f, const float* const* in, std::int64_t i, std::index_sequence<I...>) {
  return f(_mm256_loadu_ps(in[I] + i)...);
}
}  // namespace detail

// out[i] = f(in_0[i], ..., in_k[i]) with f: (__m256...) -> __m256.
template <class F, class... In>
void map_f32(float* out, std::int64_t n, F f, const In*... in) {
  constexpr std::size_t K = sizeof...(In);
  const float* inputs[K] = {in...};
  parallel_for(n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
    std::int64_t i = begin;
    for (; i + 8 <= end; i += 8)
      _mm256_storeu_ps(out + i, detail::call_on_lanes(f, inputs, i, std::make_index_sequence<K>{}));
    if (i < end) {
      const std::size_t rest = std::size_t(end - i);
      float pad[K][8] = {};
      const float* padded[K];
      for (std::size_t k = 0; k < K; ++k) {
        std::memcpy(pad[k], inputs[k] + i, rest * sizeof(float));
        padded[k] = pad[k];
      }
      float result[8];
      _mm256_storeu_ps(result, detail::call_on_lanes(f, padded, 0, std::make_index_sequence<K>{}));
      std::memcpy(out + i, result, rest * sizeof(float));
    }
  });
}
#endif

// Scalar driver for f64 (and f32 without AVX2): out[i] = f(in_0[i], ..., in_k[i]).
template <class T, class F, class... In>
void map_scalar(T* out, std::int64_t n, F f, const In*... in) {
  parallel_for(n, kParallelGrain, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = f(in[i]...);
  });
}

}  // namespace strata::kernels::cpu
