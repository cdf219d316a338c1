#include "kernels/cpu/swiglu.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/swiglu.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/elementwise_map-inl.h"
#include "kernels/cpu/scalar_math.h"
#include "kernels/cpu/simd_io-inl.h"
#include "kernels/cpu/vec_math-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {

void swiglu_fwd_row(const float* gate, const float* up, float* out, std::int64_t n) {
  map_f32(
      out, n, [](auto gv, auto uv) { return hn::Mul(hn::Mul(gv, vec::sigmoid(gv)), uv); }, gate, up);
}

// One pass computing both gradients, so sigmoid(gate) is evaluated once per element.
template <class D>
HWY_INLINE void swiglu_bwd_lanes(D d, hn::Vec<D> gv, hn::Vec<D> uv, hn::Vec<D> gr, hn::Vec<D>& dgate, hn::Vec<D>& dup) {
  const hn::Vec<D> one = hn::Set(d, 1.0f);
  const hn::Vec<D> s = vec::sigmoid(gv);
  dup = hn::Mul(gr, hn::Mul(gv, s));
  dgate = hn::Mul(hn::Mul(gr, uv), hn::Mul(s, hn::MulAdd(gv, hn::Sub(one, s), one)));
}

void swiglu_bwd_row(const float* gate, const float* up, const float* g, float* dgate, float* dup, std::int64_t n) {
  const hn::ScalableTag<float> d;
  const std::int64_t lanes = std::int64_t(hn::Lanes(d));
  hn::Vec<decltype(d)> dg, du;
  std::int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    swiglu_bwd_lanes(d, hn::LoadU(d, gate + i), hn::LoadU(d, up + i), hn::LoadU(d, g + i), dg, du);
    hn::StoreU(dg, d, dgate + i);
    hn::StoreU(du, d, dup + i);
  }
  if (i < n) {
    const std::size_t rest = std::size_t(n - i);
    swiglu_bwd_lanes(d, load_partial(d, gate + i, rest), load_partial(d, up + i, rest), load_partial(d, g + i, rest),
                     dg, du);
    store_partial(d, dg, dgate + i, rest);
    store_partial(d, du, dup + i, rest);
  }
}

}  // namespace

template <class T>
void swiglu_fwd_cpu(const SwigluArgs<T>& a) {
  const std::int64_t H = a.cols;
  parallel_rows(a.rows, H, [&](std::int64_t r) {
    const T* gate = a.gate + r * a.in_stride;
    const T* up = a.up + r * a.in_stride;
    T* out = a.out + r * H;
    if constexpr (std::is_same_v<T, float>) {
      swiglu_fwd_row(gate, up, out, H);
      return;
    }
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
    if constexpr (std::is_same_v<T, float>) {
      swiglu_bwd_row(gate, up, g, dgate, dup, H);
      return;
    }
    for (std::int64_t i = 0; i < H; ++i) {
      const T s = sigmoid_stable(gate[i]);
      const T dg = g[i] * up[i] * s * (T(1) + gate[i] * (T(1) - s));
      dup[i] = g[i] * gate[i] * s;
      dgate[i] = dg;
    }
  });
}

STRATA_KERNEL_TARGETS(swiglu_fwd_cpu, SwigluArgs)
STRATA_KERNEL_TARGETS(swiglu_bwd_cpu, SwigluArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(swiglu_fwd_cpu, SwigluArgs)
STRATA_KERNEL_DISPATCH(swiglu_bwd_cpu, SwigluArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
