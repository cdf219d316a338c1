#pragma once
// Runtime dispatch of a kernel over the SIMD targets (Google Highway). A kernel file is
// compiled once per target through hwy/foreach_target.h: its kernel templates live in
// strata::kernels::cpu::HWY_NAMESPACE, where every loop, hand-vectorised or not, is built
// for that target's instruction set. Then, for a kernel `void fn<T>(const Args<T>&)`:
//
//   inside the per-target namespace:  STRATA_KERNEL_TARGETS(fn, Args)
//   in the `#if HWY_ONCE` part, in strata::kernels::cpu:  STRATA_KERNEL_DISPATCH(fn, Args)
//
// The second defines the public fn<T> of the kernel's header for float and double, each
// calling the best target this CPU supports (kernels/cpu/simd_targets.h).
#include <type_traits>

#include <hwy/highway.h>

#define STRATA_KERNEL_TARGETS(fn, Args)                                      \
  void fn##_f32(const Args<float>& args) { HWY_NAMESPACE::fn<float>(args); } \
  void fn##_f64(const Args<double>& args) { HWY_NAMESPACE::fn<double>(args); }

#define STRATA_KERNEL_DISPATCH(fn, Args)       \
  HWY_EXPORT(fn##_f32);                        \
  HWY_EXPORT(fn##_f64);                        \
  template <class T>                           \
  void fn(const Args<T>& args) {               \
    if constexpr (std::is_same_v<T, float>)    \
      HWY_DYNAMIC_DISPATCH(fn##_f32)(args);    \
    else                                       \
      HWY_DYNAMIC_DISPATCH(fn##_f64)(args);    \
  }                                            \
  template void fn<float>(const Args<float>&); \
  template void fn<double>(const Args<double>&);

// Whether the target's vectors are sizeless (SVE, RVV): they cannot be array elements or
// class members. Kernels that keep registers in arrays (the selective scan) run their
// NEON version on SVE targets instead: of the same 128-bit width as the SVE2 cores of ARM64
// servers and the DGX Spark, and every SVE CPU has NEON. Use in `#if`.
#define STRATA_SIZELESS_VECTORS                                                                                  \
  (HWY_TARGET == HWY_SVE || HWY_TARGET == HWY_SVE2 || HWY_TARGET == HWY_SVE_256 || HWY_TARGET == HWY_SVE2_128 || \
   HWY_TARGET == HWY_RVV)

// For such a target: the per-target entry points of `fn` call the NEON target's.
#define STRATA_KERNEL_TARGETS_FROM_NEON(fn, Args)                    \
  void fn##_f32(const Args<float>& args) { N_NEON::fn##_f32(args); } \
  void fn##_f64(const Args<double>& args) { N_NEON::fn##_f64(args); }

// Declares the NEON target's entry points of `fn` (in strata::kernels::cpu, outside the
// per-target namespace), for STRATA_KERNEL_TARGETS_FROM_NEON.
#define STRATA_DECLARE_NEON_TARGETS(fn, Args) \
  namespace N_NEON {                          \
  void fn##_f32(const Args<float>& args);     \
  void fn##_f64(const Args<double>& args);    \
  }
