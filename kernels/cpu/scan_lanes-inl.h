// Lane policies for the selective scan: one "register" of W channels and the few
// operations the scan needs on it. SimdLanes (the SIMD target's f32 vectors) is the fast
// path; ScalarLanes<T> (one channel) serves f64 and channels left over after the vector
// groups. The scan is written once against this interface. Per-target header: see
// vec_math-inl.h.

#if defined(STRATA_KERNELS_CPU_SCAN_LANES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef STRATA_KERNELS_CPU_SCAN_LANES_INL_H_
#undef STRATA_KERNELS_CPU_SCAN_LANES_INL_H_
#else
#define STRATA_KERNELS_CPU_SCAN_LANES_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/scalar_math.h"
#include "kernels/cpu/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE::scan {

constexpr double kLog2e = 1.4426950408889634;

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

// W f32 lanes of the SIMD target (tag D, whose lane count is known at compile time).
template <class D>
struct SimdLanes {
  using Value = float;
  using Reg = hn::Vec<D>;
  static constexpr int W = int(hn::MaxLanes(D()));
  // Half as wide, for channels left over after the groups of W.
  using Narrower = SimdLanes<hn::Half<D>>;
  static Reg load(const float* p) { return hn::LoadU(D(), p); }
  static void store(float* p, Reg v) { hn::StoreU(v, D(), p); }
  static Reg set1(float v) { return hn::Set(D(), v); }
  static Reg zero() { return hn::Zero(D()); }
  static Reg add(Reg a, Reg b) { return hn::Add(a, b); }
  static Reg mul(Reg a, Reg b) { return hn::Mul(a, b); }
  static Reg fma(Reg a, Reg b, Reg c) { return hn::MulAdd(a, b, c); }

  // 2^x: x = n + f with n = round(x), |f| <= 1/2; 2^f by a degree-5 polynomial fitted for
  // relative error (1.1e-7 on [-1/2, 1/2]); 2^n added to the exponent bits. x is clamped
  // to [-126, 127] so the result stays a normal float (the scan's decays are <= 1, and a
  // decay below 2^-126 is zero for every purpose here).
  static Reg exp2(Reg x) {
    const D d;
    const hn::RebindToSigned<D> di;
    x = vec::detail::max_keep_nan(hn::Set(d, -126.0f), vec::detail::min_keep_nan(hn::Set(d, 127.0f), x));
    const Reg n = hn::Round(x);
    const Reg f = hn::Sub(x, n);
    Reg p = hn::Set(d, 1.326472848e-03f);
    p = hn::MulAdd(p, f, hn::Set(d, 9.671512991e-03f));
    p = hn::MulAdd(p, f, hn::Set(d, 5.550733581e-02f));
    p = hn::MulAdd(p, f, hn::Set(d, 2.402224243e-01f));
    p = hn::MulAdd(p, f, hn::Set(d, 6.931470037e-01f));
    p = hn::MulAdd(p, f, hn::Set(d, 1.0f));
    const auto exponent = hn::ShiftLeft<23>(hn::ConvertTo(di, n));
    return hn::BitCast(d, hn::Add(hn::BitCast(di, p), exponent));
  }
  static Reg sigmoid(Reg x) { return vec::sigmoid(x); }
  // max(x, 0) + log1p(e), e = exp(-|x|) in (0, 1], with log1p(e) = e q(e) and q a degree-8
  // polynomial fitted for relative error on [0, 1] (6.4e-8): no division, unlike a
  // general log1p.
  static Reg softplus(Reg x) {
    const D d;
    const Reg e = vec::exp(hn::Neg(hn::Abs(x)));
    Reg q = hn::Set(d, 5.232642602e-03f);
    q = hn::MulAdd(q, e, hn::Set(d, -2.950503707e-02f));
    q = hn::MulAdd(q, e, hn::Set(d, 7.822563347e-02f));
    q = hn::MulAdd(q, e, hn::Set(d, -1.366321982e-01f));
    q = hn::MulAdd(q, e, hn::Set(d, 1.910599518e-01f));
    q = hn::MulAdd(q, e, hn::Set(d, -2.484297948e-01f));
    q = hn::MulAdd(q, e, hn::Set(d, 3.331909651e-01f));
    q = hn::MulAdd(q, e, hn::Set(d, -4.999949313e-01f));
    q = hn::MulAdd(q, e, hn::Set(d, 9.999999699e-01f));
    return hn::MulAdd(e, q, hn::Max(x, hn::Zero(d)));
  }

  // out[s] += sum of the lanes of v[s], for s < S (S and W powers of two). Transpose-and-
  // add: each round adds neighbouring lanes of two vectors into one (the first's sums in
  // the lower half), so K = min(S, W) vectors become one whose first K lanes hold their
  // totals in log2(W) rounds, instead of K horizontal sums.
  template <int S>
  static void add_lane_sums(const Reg (&v)[S], float* out) {
#if HWY_TARGET == HWY_SCALAR  // one lane: nothing to transpose
    for (int s = 0; s < S; ++s) out[s] += vec::hsum(v[s]);
#else
    constexpr int K = S < W ? S : W;
    if constexpr (K == 1) {
      for (int s = 0; s < S; ++s) out[s] += vec::hsum(v[s]);
    } else {
      const D d;
      for (int s0 = 0; s0 < S; s0 += K) {
        Reg r[K];
        for (int k = 0; k < K; ++k) r[k] = v[s0 + k];
        int per = W;  // lanes per vector that belong to one v[s]
        for (int count = K; count > 1; count /= 2, per /= 2)
          for (int k = 0; k < count / 2; ++k)
            r[k] = hn::Add(hn::ConcatEven(d, r[2 * k + 1], r[2 * k]), hn::ConcatOdd(d, r[2 * k + 1], r[2 * k]));
        for (; per > 1; per /= 2) r[0] = hn::Add(hn::ConcatEven(d, r[0], r[0]), hn::ConcatOdd(d, r[0], r[0]));
        HWY_ALIGN float sums[W];
        hn::Store(r[0], d, sums);
        for (int k = 0; k < K; ++k) out[s0 + k] += sums[k];
      }
    }
#endif
  }
};

// The scan's lane tag: a whole vector where its width is known at compile time (AVX3 16,
// AVX2 8, SSE4/NEON/EMU128 4 lanes); 128 bits on scalable SVE, whose width is not.
#if HWY_HAVE_SCALABLE
using ScanTag = hn::Full128<float>;
#else
using ScanTag = hn::ScalableTag<float>;
#endif

}  // namespace strata::kernels::cpu::HWY_NAMESPACE::scan
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
