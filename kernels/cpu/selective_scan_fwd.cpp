// Selective scan forward: work items are (sequence, block of kForwardBlock channels), walked
// chunk by chunk (kSelectiveScanChunk steps); per chunk and channel group the step sizes
// are computed once into L1 buffers, then each register group of states runs the whole
// chunk with its states in registers.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/selective_scan_fwd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/selective_scan_common-inl.h"

#if STRATA_SIZELESS_VECTORS
namespace strata::kernels::cpu {
STRATA_DECLARE_NEON_TARGETS(selective_scan_fwd_cpu, SelectiveScanArgs)
}  // namespace strata::kernels::cpu
#endif

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

#if STRATA_SIZELESS_VECTORS  // the scan keeps its states in arrays of registers
STRATA_KERNEL_TARGETS_FROM_NEON(selective_scan_fwd_cpu, SelectiveScanArgs)
#else

namespace {

using namespace scan;

// Runs `steps` steps of the recurrence for states n0 .. n0+S of one channel group:
//   h = exp2(dt * A2) * h + dtu * B[t, n];  y[t] += sum_s C[t, n] * h
// h, A2: lane-major [N][W] at state n0; dt, dtu, y: [steps][W]; Bt, Ct: row t0 of
// B/C [T, N] at column n0 (row stride N); starts: chunk_starts (h restarts at 0 where a
// packed document begins), or null.
template <class V, int S>
void advance_states(typename V::Value* h, const typename V::Value* A2, std::int64_t steps, const typename V::Value* dt,
                    const typename V::Value* dtu, typename V::Value* y, const typename V::Value* Bt,
                    const typename V::Value* Ct, std::int64_t N, const std::int64_t* starts, std::int64_t t0) {
  using Reg = typename V::Reg;
  constexpr int W = V::W;
  Reg hs[S], a2[S];
  for (int s = 0; s < S; ++s) hs[s] = V::load(h + s * W), a2[s] = V::load(A2 + s * W);
  for (std::int64_t t = 0; t < steps; ++t) {
    const Reg dtv = V::load(dt + t * W), dtuv = V::load(dtu + t * W);
    // Two partial sums halve the dependency chain through y.
    Reg y0 = V::load(y + t * W), y1 = V::zero();
    if (restarts(starts, t0, t))
      for (int s = 0; s < S; ++s) hs[s] = V::zero();
    for (int s = 0; s < S; ++s) {
      const Reg decay = V::exp2(V::mul(dtv, a2[s]));
      hs[s] = V::fma(decay, hs[s], V::mul(dtuv, V::set1(Bt[t * N + s])));
      if (s % 2 == 0)
        y0 = V::fma(hs[s], V::set1(Ct[t * N + s]), y0);
      else
        y1 = V::fma(hs[s], V::set1(Ct[t * N + s]), y1);
    }
    V::store(y + t * W, V::add(y0, y1));
  }
  for (int s = 0; s < S; ++s) V::store(h + s * W, hs[s]);
}

// Channels per work item: one chunk's rows of u, delta, z and y for the item are 256
// contiguous bytes (f32), read once for all of the item's channel groups.
constexpr std::int64_t kForwardBlock = 64;

// Scratch of one thread: lane buffers for a chunk, and per channel group of the item its
// running state h and A * log2(e) (slots 0 and 1, lane-major [N][W]).
template <class T>
struct ForwardScratch {
  std::vector<T> dt, dtu, y;
  GroupSlots<T> groups;
  ForwardScratch(std::int64_t d_state, int lanes)
      : dt(kSelectiveScanChunk * lanes),
        dtu(kSelectiveScanChunk * lanes),
        y(kSelectiveScanChunk * lanes),
        groups(kForwardBlock / lanes + lanes, {d_state * lanes, d_state * lanes}) {}
};

// Steps t0 .. t0+steps of one channel group (channels d0 .. d0+W of sequence b).
template <class V>
void forward_chunk(const SelectiveScanArgs<typename V::Value>& a, std::int64_t b, std::int64_t d0, std::int64_t c,
                   typename V::Value* h, const typename V::Value* A2, ForwardScratch<typename V::Value>& scratch) {
  using T = typename V::Value;
  using Reg = typename V::Reg;
  constexpr int W = V::W;
  const std::int64_t T_ = a.seq_len, D = a.channels, N = a.d_state;
  const std::int64_t t0 = c * kSelectiveScanChunk, steps = std::min(kSelectiveScanChunk, T_ - t0);
  if (a.checkpoints)
    for (std::int64_t n = 0; n < N; ++n)
      V::store(a.checkpoints + checkpoint_offset(a, b, c, n, d0), V::load(h + n * W));
  for (std::int64_t t = 0; t < steps; ++t) {
    const std::int64_t row = (b * T_ + t0 + t) * D + d0;
    const Step<V> st = step_size<V>(a, row, d0);
    const Reg u = V::load(a.u + row);
    V::store(scratch.dt.data() + t * W, st.dt);
    V::store(scratch.dtu.data() + t * W, V::mul(st.dt, u));
    V::store(scratch.y.data() + t * W, a.D ? V::mul(V::load(a.D + d0), u) : V::zero());
  }
  const T* Bt = a.B + (b * T_ + t0) * N;
  const T* Ct = a.C + (b * T_ + t0) * N;
  for_state_groups(N, [&](auto group, std::int64_t n0) {
    advance_states<V, decltype(group)::value>(h + n0 * W, A2 + n0 * W, steps, scratch.dt.data(), scratch.dtu.data(),
                                              scratch.y.data(), Bt + n0, Ct + n0, N, chunk_starts(a, b, t0), t0);
  });
  for (std::int64_t t = 0; t < steps; ++t) {
    const std::int64_t row = (b * T_ + t0 + t) * D + d0;
    Reg y = V::load(scratch.y.data() + t * W);
    if (a.z) {
      const Reg z = V::load(a.z + row);
      y = V::mul(y, V::mul(z, V::sigmoid(z)));
    }
    V::store(a.y + row, y);
  }
}

// Channels d0 .. d1 of sequence b, chunk by chunk, each chunk for every channel group.
template <class V>
void forward_block(const SelectiveScanArgs<typename V::Value>& a, std::int64_t b, std::int64_t d0, std::int64_t d1,
                   ForwardScratch<typename V::Value>& scratch) {
  using T = typename V::Value;
  GroupSlots<T>& g = scratch.groups;
  std::int64_t i = 0;
  for_lane_groups<V, T>(d0, d1, [&](auto lanes, std::int64_t d) {
    using L = decltype(lanes);
    gather_state<L>(a.initial_state, a, b, d, g.slot(i, 0));
    load_decay_rates<L>(a, d, static_cast<T*>(nullptr), g.slot(i, 1));
    ++i;
  });
  for (std::int64_t c = 0; c < chunk_count(a.seq_len); ++c) {
    i = 0;
    for_lane_groups<V, T>(d0, d1, [&](auto lanes, std::int64_t d) {
      forward_chunk<decltype(lanes)>(a, b, d, c, g.slot(i, 0), g.slot(i, 1), scratch);
      ++i;
    });
  }
  if (!a.final_state) return;
  i = 0;
  for_lane_groups<V, T>(d0, d1, [&](auto lanes, std::int64_t d) {
    scatter_state<decltype(lanes)>(g.slot(i++, 0), a, b, d, a.final_state);
  });
}

}  // namespace

template <class T>
void selective_scan_fwd_cpu(const SelectiveScanArgs<T>& a) {
  using V = FastLanes<T>;
  const std::int64_t blocks = (a.channels + kForwardBlock - 1) / kForwardBlock;
  parallel_items_with_scratch(
      a.batch * blocks, [&] { return ForwardScratch<T>(a.d_state, V::W); },
      [&](std::int64_t item, ForwardScratch<T>& scratch) {
        const std::int64_t b = item / blocks, d0 = (item % blocks) * kForwardBlock;
        forward_block<V>(a, b, d0, std::min(a.channels, d0 + kForwardBlock), scratch);
      },
      /*work_per_item=*/a.seq_len * std::min(a.channels, kForwardBlock) * a.d_state);
}

STRATA_KERNEL_TARGETS(selective_scan_fwd_cpu, SelectiveScanArgs)
#endif  // STRATA_SIZELESS_VECTORS

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(selective_scan_fwd_cpu, SelectiveScanArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
