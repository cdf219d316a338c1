// Pieces shared by the selective scan's forward and backward (kernels/cpu/selective_scan_*.cpp):
// how channels split into lane groups, how states split into register groups, and the
// per-step quantities computed once per (t, channel) before the state loop. Per-target
// header: see vec_math-inl.h.

#if defined(STRATA_KERNELS_CPU_SELECTIVE_SCAN_COMMON_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef STRATA_KERNELS_CPU_SELECTIVE_SCAN_COMMON_INL_H_
#undef STRATA_KERNELS_CPU_SELECTIVE_SCAN_COMMON_INL_H_
#else
#define STRATA_KERNELS_CPU_SELECTIVE_SCAN_COMMON_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/scan_lanes-inl.h"
#include "kernels/cpu/selective_scan.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE::scan {

inline std::int64_t chunk_count(std::int64_t seq_len) {
  return (seq_len + kSelectiveScanChunk - 1) / kSelectiveScanChunk;
}

// Calls fn(std::integral_constant<int, S>{}, n0) for register groups of S states that
// cover [0, N): groups of 8, then at most one each of 4, 2, 1.
template <class Fn>
void for_state_groups(std::int64_t d_state, Fn&& fn) {
  std::int64_t n0 = 0;
  for (; n0 + 8 <= d_state; n0 += 8) fn(std::integral_constant<int, 8>{}, n0);
  if (n0 + 4 <= d_state) fn(std::integral_constant<int, 4>{}, n0), n0 += 4;
  if (n0 + 2 <= d_state) fn(std::integral_constant<int, 2>{}, n0), n0 += 2;
  if (n0 < d_state) fn(std::integral_constant<int, 1>{}, n0);
}

// Channels [d0, d1) as groups of V::W lanes, then of V::W / 2 (when that is still 4 or
// more); a remainder narrower than that goes through the one-lane policy channel by
// channel. Calls fn(lanes_tag, d0) with lanes_tag a lane policy value.
template <class V, class T, class Fn>
void for_lane_groups(std::int64_t d0, std::int64_t d1, Fn&& fn) {
  std::int64_t d = d0;
  for (; d + V::W <= d1; d += V::W) fn(V{}, d);
  if constexpr (V::W >= 8) {
    using Half = typename V::Narrower;
    for (; d + Half::W <= d1; d += Half::W) fn(Half{}, d);
  }
  for (; d < d1; ++d) fn(ScalarLanes<T>{}, d);
}

// The fast lane policy for T: the target's f32 vectors, or one f64 lane.
template <class T>
using FastLanes = std::conditional_t<std::is_same_v<T, float>, SimdLanes<ScanTag>, ScalarLanes<T>>;

// Per-channel-group arrays that live across chunks (states, constants, accumulators),
// carved from one thread's scratch: array k of group g is slot(g, k), sizes[k] elements.
// A work item walks its channel groups chunk by chunk, so that one chunk's rows of the
// [B, T, D] inputs are read from memory once for all groups of the item.
template <class T>
class GroupSlots {
 public:
  GroupSlots(std::int64_t groups, std::vector<std::int64_t> sizes) : sizes_(std::move(sizes)) {
    for (std::int64_t size : sizes_) offsets_.push_back(per_group_), per_group_ += size;
    storage_.resize(groups * per_group_);
  }
  T* slot(std::int64_t group, std::size_t array) { return storage_.data() + group * per_group_ + offsets_[array]; }

 private:
  std::vector<std::int64_t> sizes_, offsets_;
  std::int64_t per_group_ = 0;
  std::vector<T> storage_;
};

// A and A * log2(e) of channels d0 .. d0+W, lane-major [N][W] (either may be null).
template <class V, class T>
void load_decay_rates(const SelectiveScanArgs<T>& a, std::int64_t d0, T* A, T* A2) {
  for (std::int64_t n = 0; n < a.d_state; ++n)
    for (int l = 0; l < V::W; ++l) {
      const T value = a.A[(d0 + l) * a.d_state + n];
      if (A) A[n * V::W + l] = value;
      if (A2) A2[n * V::W + l] = T(double(value) * kLog2e);
    }
}

// Copies the [B, D, N] state of sequence b, channels d0 .. d0+W, into lane-major [N][W]
// `lanes` (zeros when `state` is null), and back.
template <class V, class T>
void gather_state(const T* state, const SelectiveScanArgs<T>& a, std::int64_t b, std::int64_t d0, T* lanes) {
  for (std::int64_t n = 0; n < a.d_state; ++n)
    for (int l = 0; l < V::W; ++l)
      lanes[n * V::W + l] = state ? state[(b * a.channels + d0 + l) * a.d_state + n] : T(0);
}
template <class V, class T>
void scatter_state(const T* lanes, const SelectiveScanArgs<T>& a, std::int64_t b, std::int64_t d0, T* state) {
  for (std::int64_t n = 0; n < a.d_state; ++n)
    for (int l = 0; l < V::W; ++l) state[(b * a.channels + d0 + l) * a.d_state + n] = lanes[n * V::W + l];
}

// Checkpoint slot of (b, chunk c, state n, channel d0): [B, chunks, N, D].
template <class T>
std::int64_t checkpoint_offset(const SelectiveScanArgs<T>& a, std::int64_t b, std::int64_t c, std::int64_t n,
                               std::int64_t d0) {
  return ((b * chunk_count(a.seq_len) + c) * a.d_state + n) * a.channels + d0;
}

// Row b of the packed documents' starts from time t0 (null when unpacked): restarts(p, t0, t)
// tells whether step t0 + t opens a new document, where the state restarts from zero.
template <class T>
const std::int64_t* chunk_starts(const SelectiveScanArgs<T>& a, std::int64_t b, std::int64_t t0) {
  return a.seq_start ? a.seq_start + b * a.seq_len + t0 : nullptr;
}
inline bool restarts(const std::int64_t* starts, std::int64_t t0, std::int64_t t) {
  return starts && t0 + t > 0 && starts[t] == t0 + t;
}

// Raw step size delta + bias at (row, d0) and the step dt = softplus?(raw).
template <class V>
struct Step {
  typename V::Reg raw, dt;
};
// (Built from values: GCC does not give the implicit default constructor of a Step of
// NEON vectors the target's attributes.)
template <class V>
Step<V> step_size(const SelectiveScanArgs<typename V::Value>& a, std::int64_t row, std::int64_t d0) {
  typename V::Reg raw = V::load(a.delta + row);
  if (a.delta_bias) raw = V::add(raw, V::load(a.delta_bias + d0));
  return Step<V>{raw, a.delta_softplus ? V::softplus(raw) : raw};
}

}  // namespace strata::kernels::cpu::HWY_NAMESPACE::scan
HWY_AFTER_NAMESPACE();

#endif  // include guard toggle
