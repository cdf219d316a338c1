// Loads and stores of the last, partial vector of an array, for every SIMD target: the
// `count` (< Lanes(d)) elements go through a full-width stack buffer, so nothing outside
// the array is touched (Highway's masked loads may read past it on some targets) and the
// element gets the same vector code, hence the same bits, as it would in a full vector.
// Per-target header: see vec_math-inl.h.

#if defined(STRATA_KERNELS_CPU_SIMD_IO_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef STRATA_KERNELS_CPU_SIMD_IO_INL_H_
#undef STRATA_KERNELS_CPU_SIMD_IO_INL_H_
#else
#define STRATA_KERNELS_CPU_SIMD_IO_INL_H_
#endif

#include <hwy/highway.h>

#include <cstddef>
#include <cstring>

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

// p[0 .. count) in the first lanes, `fill` in the others.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> load_partial(D d, const T* p, std::size_t count, T fill = T(0)) {
  HWY_ALIGN T buffer[hn::MaxLanes(D())];
  for (std::size_t i = 0; i < hn::Lanes(d); ++i) buffer[i] = fill;
  std::memcpy(buffer, p, count * sizeof(T));
  return hn::Load(d, buffer);
}

// The first `count` lanes of v to p[0 .. count).
template <class D, class T = hn::TFromD<D>>
HWY_INLINE void store_partial(D d, hn::Vec<D> v, T* p, std::size_t count) {
  HWY_ALIGN T buffer[hn::MaxLanes(D())];
  hn::Store(v, d, buffer);
  std::memcpy(p, buffer, count * sizeof(T));
}

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
