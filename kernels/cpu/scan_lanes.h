#pragma once
// Lane policies for the selective scan: one "register" of W channels and the few
// operations the scan needs on it. Avx2Lanes (8 f32 lanes, intrinsics) is the fast path;
// ScalarLanes<T> (one channel) serves f64, channels left over after the 8-lane groups,
// and builds without AVX2. The scan is written once against this interface.
#include <cmath>
#include <cstdint>

#include "kernels/cpu/scalar_math.h"
#include "kernels/cpu/vec_math.h"

namespace strata::kernels::cpu::scan {

inline constexpr double kLog2e = 1.4426950408889634;

template <class T>
struct ScalarLanes {
  using Value = T;
  using Reg = T;
  static constexpr int W = 1;
  static Reg load(const T* p) { return *p; }
  static void store(T* p, Reg v) { *p = v; }
  static Reg set1(T v) { return v; }
  static Reg zero() { return T(0); }
  static Reg add(Reg a, Reg b) { return a + b; }
  static Reg mul(Reg a, Reg b) { return a * b; }
  static Reg fma(Reg a, Reg b, Reg c) { return a * b + c; }
  static Reg exp2(Reg x) { return std::exp2(x); }
  static Reg sigmoid(Reg x) { return sigmoid_stable(x); }
  // log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
  static Reg softplus(Reg x) { return std::max(x, T(0)) + std::log1p(std::exp(-std::fabs(x))); }
  // out[s] += sum of the lanes of v[s], for s < S.
  template <int S>
  static void add_lane_sums(const Reg (&v)[S], T* out) {
    for (int s = 0; s < S; ++s) out[s] += v[s];
  }
};

#if defined(__AVX2__) && defined(__FMA__)

struct Avx2Lanes {
  using Value = float;
  using Reg = __m256;
  static constexpr int W = 8;
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg set1(float v) { return _mm256_set1_ps(v); }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }

  // 2^x: x = n + f with n = round(x), |f| <= 1/2; 2^f by a degree-5 polynomial fitted for
  // relative error (1.1e-7 on [-1/2, 1/2]); 2^n added to the exponent bits. x is clamped
  // to [-126, 127] so the result stays a normal float (the scan's decays are <= 1, and a
  // decay below 2^-126 is zero for every purpose here).
  static Reg exp2(Reg x) {
    // Operand order keeps NaN (min/max return their second operand when one is NaN).
    x = _mm256_max_ps(_mm256_set1_ps(-126.0f), _mm256_min_ps(_mm256_set1_ps(127.0f), x));
    const Reg n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const Reg f = _mm256_sub_ps(x, n);
    Reg p = _mm256_set1_ps(1.326472848e-03f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.671512991e-03f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550733581e-02f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402224243e-01f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931470037e-01f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    const __m256i exponent = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), exponent));
  }
  static Reg sigmoid(Reg x) { return vec::sigmoid(x); }
  // max(x, 0) + log1p(e), e = exp(-|x|) in (0, 1], with log1p(e) = e q(e) and q a degree-8
  // polynomial fitted for relative error on [0, 1] (6.4e-8): no division, unlike a
  // general log1p.
  static Reg softplus(Reg x) {
    const Reg e = vec::exp(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)));
    Reg q = _mm256_set1_ps(5.232642602e-03f);
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(-2.950503707e-02f));
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(7.822563347e-02f));
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(-1.366321982e-01f));
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(1.910599518e-01f));
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(-2.484297948e-01f));
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(3.331909651e-01f));
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(-4.999949313e-01f));
    q = _mm256_fmadd_ps(q, e, _mm256_set1_ps(9.999999699e-01f));
    return _mm256_fmadd_ps(e, q, _mm256_max_ps(x, _mm256_setzero_ps()));
  }

  template <int S>
  static void add_lane_sums(const Reg (&v)[S], float* out) {
    if constexpr (S == 8) {
      // Transpose-and-add: three rounds of pairwise sums leave lane s holding v[s]'s total.
      const Reg t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
      const Reg t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
      const Reg u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
      const Reg sums =
          _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
      _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), sums));
    } else {
      for (int s = 0; s < S; ++s) out[s] += vec::hsum(v[s]);
    }
  }
};

#endif

}  // namespace strata::kernels::cpu::scan
