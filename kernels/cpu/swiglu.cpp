#include "kernels/cpu/swiglu.h"

#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/elementwise_map.h"
#include "kernels/cpu/scalar_math.h"
#include "kernels/cpu/vec_math.h"

namespace strata::kernels::cpu {

namespace {

#if defined(__AVX2__) && defined(__FMA__)
inline void swiglu_fwd_row(const float* gate, const float* up, float* out, std::int64_t n) {
  map_f32(
      out, n, [](__m256 gv, __m256 uv) { return _mm256_mul_ps(_mm256_mul_ps(gv, vec::sigmoid(gv)), uv); }, gate, up);
}
// One pass computing both gradients, so sigmoid(gate) is evaluated once per element.
inline void swiglu_bwd_lanes(const float* gate, const float* up, const float* g, float* dgate, float* dup) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 gv = _mm256_loadu_ps(gate), uv = _mm256_loadu_ps(up), gr = _mm256_loadu_ps(g);
  const __m256 s = vec::sigmoid(gv);
  _mm256_storeu_ps(dup, _mm256_mul_ps(gr, _mm256_mul_ps(gv, s)));
  _mm256_storeu_ps(
      dgate, _mm256_mul_ps(_mm256_mul_ps(gr, uv), _mm256_mul_ps(s, _mm256_fmadd_ps(gv, _mm256_sub_ps(one, s), one))));
}

inline void swiglu_bwd_row(const float* gate, const float* up, const float* g, float* dgate, float* dup,
                           std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) swiglu_bwd_lanes(gate + i, up + i, g + i, dgate + i, dup + i);
  if (i < n) {
    const std::size_t rest = std::size_t(n - i);
    float in[3][8] = {}, out[2][8];
    std::memcpy(in[0], gate + i, rest * sizeof(float));
    std::memcpy(in[1], up + i, rest * sizeof(float));
    std::memcpy(in[2], g + i, rest * sizeof(float));
    swiglu_bwd_lanes(in[0], in[1], in[2], out[0], out[1]);
    std::memcpy(dgate + i, out[0], rest * sizeof(float));
    std::memcpy(dup + i, out[1], rest * sizeof(float));
  }
}
#endif

}  // namespace

template <class T>
void swiglu_fwd_cpu(const SwigluArgs<T>& a) {
  const std::int64_t H = a.cols;
  parallel_rows(a.rows, H, [&](std::int64_t r) {
    const T* gate = a.gate + r * a.in_stride;
    const T* up = a.up + r * a.in_stride;
    T* out = a.out + r * H;
#if defined(__AVX2__) && defined(__FMA__)
    if constexpr (std::is_same_v<T, float>) {
      swiglu_fwd_row(gate, up, out, H);
      return;
    }
#endif
    for (std::int64_t i = 0; i < H; ++i) out[i] = gate[i] * sigmoid_stable(gate[i]) * up[i];
  });
}

template <class T>
void swiglu_bwd_cpu(const SwigluArgs<T>& a) {
  const std::int64_t H = a.cols;
  parallel_rows(a.rows, H, [&](std::int64_t r) {
    const T* gate = a.gate + r * a.in_stride;
    const T* up = a.up + r * a.in_stride;
    const T* g = a.g + r * H;
    T* dgate = a.dgate + r * a.in_stride;
    T* dup = a.dup + r * a.in_stride;
#if defined(__AVX2__) && defined(__FMA__)
    if constexpr (std::is_same_v<T, float>) {
      swiglu_bwd_row(gate, up, g, dgate, dup, H);
      return;
    }
#endif
    for (std::int64_t i = 0; i < H; ++i) {
      const T s = sigmoid_stable(gate[i]);
      const T dg = g[i] * up[i] * s * (T(1) + gate[i] * (T(1) - s));
      dup[i] = g[i] * gate[i] * s;
      dgate[i] = dg;
    }
  });
}

template void swiglu_fwd_cpu<float>(const SwigluArgs<float>&);
template void swiglu_fwd_cpu<double>(const SwigluArgs<double>&);
template void swiglu_bwd_cpu<float>(const SwigluArgs<float>&);
template void swiglu_bwd_cpu<double>(const SwigluArgs<double>&);

}  // namespace strata::kernels::cpu
