// Selective scan backward (REFERENCE §1.5). With a_t = exp(dt_t A), g_t = dL/dh_t:
//   g_t = C_t dy_t + a_{t+1} g_{t+1}           (g after the last step: dfinal_state)
//   dC_t[n] = sum_d dy_t h_t;  dB_t[n] = sum_d g_t dt_t u_t
//   du_t = dt_t sum_n g_t B_t + D dy_t
//   ddt_t = sum_n g_t (A a_t h_{t-1} + B_t u_t);  dA = sum_{b,t} g_t a_t dt_t h_{t-1}
//   dh0 = a_0 g_0
// where dy is the gradient of the ungated output (dout * silu(z)). Chunks are walked last
// to first; inside a chunk each register group of states recomputes h and a from the
// chunk's checkpoint into L1 buffers, then runs the adjoint backwards in time.
//
// Work items are (batch, block of kChannelBlock channels); an item walks the chunks and,
// per chunk, all its channel groups, so one chunk's rows of the inputs, of the outputs and
// of the item's dB/dC partial sums stay in cache for all of them. dB/dC (shared by all channels)
// are summed per item into a workspace slice and reduced over blocks in order; dA, dD and
// d(delta_bias) per batch likewise over batches: no atomics, and results do not depend on
// the number of threads.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/selective_scan_bwd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/selective_scan_common-inl.h"

#if STRATA_SIZELESS_VECTORS
namespace strata::kernels::cpu {
STRATA_DECLARE_NEON_TARGETS(selective_scan_bwd_cpu, SelectiveScanArgs)
}  // namespace strata::kernels::cpu
#endif

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

#if STRATA_SIZELESS_VECTORS  // the scan keeps its states in arrays of registers
STRATA_KERNEL_TARGETS_FROM_NEON(selective_scan_bwd_cpu, SelectiveScanArgs)
#else

namespace {

using namespace scan;

constexpr std::int64_t kChannelBlock = 128;

std::int64_t channel_blocks(std::int64_t channels) { return (channels + kChannelBlock - 1) / kChannelBlock; }

// Scratch of one thread. Per step t of a chunk (lane-major [chunk][W]): dt, dt*u, the raw
// step, dy (ungated), the recomputed ungated y, and the sums over states
// gB = sum_n g B and gAah = sum_n g A a h_{t-1}. Per state group: h_t for t = -1 ..
// chunk-1 and a_t ([chunk + 1][8][W], [chunk][8][W]). Per channel group of the item, kept
// across chunks: A, A * log2(e), the carried adjoint a_{t+1} g_{t+1} and dA ([N][W]
// each), and the dD and d(delta_bias) sums ([2][W]).
template <class T>
struct BackwardScratch {
  enum Slot { kA, kA2, kCarry, kDA, kSums };
  std::vector<T> dt, dtu, raw, dy, y, gB, gAah, h, decay;
  GroupSlots<T> groups;
  BackwardScratch(std::int64_t d_state, int lanes)
      : groups(kChannelBlock / lanes + lanes,
               {d_state * lanes, d_state * lanes, d_state * lanes, d_state * lanes, 2 * lanes}) {
    const std::int64_t step = kSelectiveScanChunk * lanes;
    for (auto* v : {&dt, &dtu, &raw, &dy, &y, &gB, &gAah}) v->resize(step);
    h.resize((kSelectiveScanChunk + 1) * 8 * lanes);
    decay.resize(kSelectiveScanChunk * 8 * lanes);
  }
};

// Recomputes h_t and a_t of states n0 .. n0+S over one chunk from the state h_in entering
// it (lane-major [S][W]); accumulates the ungated y when `y` is not null. Where a packed
// document begins (starts: chunk_starts) h restarts at 0 and a_t is stored as 0: the step
// does not depend on h_{t-1}, so the adjoint passes nothing back across it and adds no dA.
template <class V, int S>
void recompute_states(const typename V::Value* h_in, const typename V::Value* A2, std::int64_t steps,
                      BackwardScratch<typename V::Value>& s, const typename V::Value* Bt, const typename V::Value* Ct,
                      std::int64_t N, bool with_y, const std::int64_t* starts, std::int64_t t0) {
  using Reg = typename V::Reg;
  constexpr int W = V::W;
  Reg hs[S], a2[S];
  for (int i = 0; i < S; ++i) {
    hs[i] = V::load(h_in + i * W), a2[i] = V::load(A2 + i * W);
    V::store(s.h.data() + i * W, hs[i]);  // h_{-1}
  }
  for (std::int64_t t = 0; t < steps; ++t) {
    const Reg dtv = V::load(s.dt.data() + t * W), dtuv = V::load(s.dtu.data() + t * W);
    Reg y = with_y ? V::load(s.y.data() + t * W) : V::zero();
    const bool restart = restarts(starts, t0, t);
    for (int i = 0; i < S; ++i) {
      const Reg decay = restart ? V::zero() : V::exp2(V::mul(dtv, a2[i]));
      hs[i] = V::fma(decay, hs[i], V::mul(dtuv, V::set1(Bt[t * N + i])));
      V::store(s.decay.data() + (t * S + i) * W, decay);
      V::store(s.h.data() + ((t + 1) * S + i) * W, hs[i]);
      if (with_y) y = V::fma(hs[i], V::set1(Ct[t * N + i]), y);
    }
    if (with_y) V::store(s.y.data() + t * W, y);
  }
}

// The adjoint over one chunk, last step first, for states n0 .. n0+S. dB_t/dC_t: rows of
// this item's partial sums [chunk, N] at column n0.
template <class V, int S>
void adjoint_states(const typename V::Value* A, std::int64_t steps, BackwardScratch<typename V::Value>& s,
                    typename V::Value* carry, typename V::Value* dA, const typename V::Value* Bt,
                    const typename V::Value* Ct, typename V::Value* dBt, typename V::Value* dCt, std::int64_t N) {
  using Reg = typename V::Reg;
  constexpr int W = V::W;
  Reg g_next[S], dAs[S];
  for (int i = 0; i < S; ++i) g_next[i] = V::load(carry + i * W), dAs[i] = V::load(dA + i * W);
  for (std::int64_t t = steps - 1; t >= 0; --t) {
    const Reg dy = V::load(s.dy.data() + t * W), dt = V::load(s.dt.data() + t * W);
    const Reg dtu = V::load(s.dtu.data() + t * W);
    Reg gB = V::load(s.gB.data() + t * W), gAah = V::load(s.gAah.data() + t * W);
    Reg dC_lanes[S], dB_lanes[S];
    for (int i = 0; i < S; ++i) {
      const Reg h_t = V::load(s.h.data() + ((t + 1) * S + i) * W);
      const Reg h_prev = V::load(s.h.data() + (t * S + i) * W);
      const Reg decay = V::load(s.decay.data() + (t * S + i) * W);
      const Reg g = V::fma(V::set1(Ct[t * N + i]), dy, g_next[i]);
      dC_lanes[i] = V::mul(dy, h_t);
      dB_lanes[i] = V::mul(g, dtu);
      gB = V::fma(g, V::set1(Bt[t * N + i]), gB);
      const Reg gah = V::mul(V::mul(g, decay), h_prev);
      gAah = V::fma(gah, V::load(A + i * W), gAah);
      dAs[i] = V::fma(gah, dt, dAs[i]);
      g_next[i] = V::mul(decay, g);
    }
    V::template add_lane_sums<S>(dC_lanes, dCt + t * N);
    V::template add_lane_sums<S>(dB_lanes, dBt + t * N);
    V::store(s.gB.data() + t * W, gB);
    V::store(s.gAah.data() + t * W, gAah);
  }
  for (int i = 0; i < S; ++i) V::store(carry + i * W, g_next[i]), V::store(dA + i * W, dAs[i]);
}

// Per-batch partial sums in the workspace: dA [B, D, N], dD and d(delta_bias) [B, D].
template <class T>
struct Partials {
  T *dB, *dC;          // [B, blocks, T, N]
  T *dA, *dD, *dbias;  // [B, D, N], [B, D], [B, D]
  Partials(const SelectiveScanArgs<T>& a, T* w) {
    const std::int64_t BTN = a.batch * channel_blocks(a.channels) * a.seq_len * a.d_state;
    dB = w, dC = w + BTN, dA = w + 2 * BTN;
    dD = dA + a.batch * a.channels * a.d_state;
    dbias = dD + a.batch * a.channels;
  }
};

// Chunk c of one channel group (channels d0 .. d0+W of sequence b): dB/dC rows of the
// item's partial sums, du, ddelta, dz rows, and the group's carried slots.
template <class V>
void backward_chunk(const SelectiveScanArgs<typename V::Value>& a, std::int64_t b, std::int64_t d0, std::int64_t c,
                    typename V::Value* dBpart, typename V::Value* dCpart, BackwardScratch<typename V::Value>& s,
                    std::int64_t group) {
  using T = typename V::Value;
  using Reg = typename V::Reg;
  using Scratch = BackwardScratch<T>;
  constexpr int W = V::W;
  const std::int64_t T_ = a.seq_len, D = a.channels, N = a.d_state;
  const std::int64_t t0 = c * kSelectiveScanChunk, steps = std::min(kSelectiveScanChunk, T_ - t0);
  T* sums = s.groups.slot(group, Scratch::kSums);  // [dD; d(delta_bias)]
  for (std::int64_t t = 0; t < steps; ++t) {
    const std::int64_t row = (b * T_ + t0 + t) * D + d0;
    const Step<V> st = step_size<V>(a, row, d0);
    const Reg u = V::load(a.u + row);
    V::store(s.raw.data() + t * W, st.raw);
    V::store(s.dt.data() + t * W, st.dt);
    V::store(s.dtu.data() + t * W, V::mul(st.dt, u));
    Reg dy = V::load(a.dy + row);
    if (a.z) {
      const Reg z = V::load(a.z + row);
      dy = V::mul(dy, V::mul(z, V::sigmoid(z)));
      V::store(s.y.data() + t * W, a.D ? V::mul(V::load(a.D + d0), u) : V::zero());
    }
    V::store(s.dy.data() + t * W, dy);
    V::store(s.gB.data() + t * W, V::zero());
    V::store(s.gAah.data() + t * W, V::zero());
  }
  const T* Bt = a.B + (b * T_ + t0) * N;
  const T* Ct = a.C + (b * T_ + t0) * N;
  const T* A = s.groups.slot(group, Scratch::kA);
  const T* A2 = s.groups.slot(group, Scratch::kA2);
  T* carry = s.groups.slot(group, Scratch::kCarry);
  T* dA = s.groups.slot(group, Scratch::kDA);
  for_state_groups(N, [&](auto state_group, std::int64_t n0) {
    constexpr int S = decltype(state_group)::value;
    T h_in[S * W];
    for (int i = 0; i < S; ++i)
      for (int l = 0; l < W; ++l) h_in[i * W + l] = a.checkpoints[checkpoint_offset(a, b, c, n0 + i, d0) + l];
    recompute_states<V, S>(h_in, A2 + n0 * W, steps, s, Bt + n0, Ct + n0, N, a.z != nullptr, chunk_starts(a, b, t0),
                           t0);
    adjoint_states<V, S>(A + n0 * W, steps, s, carry + n0 * W, dA + n0 * W, Bt + n0, Ct + n0, dBpart + t0 * N + n0,
                         dCpart + t0 * N + n0, N);
  });
  Reg dD = V::load(sums), dbias = V::load(sums + W);
  for (std::int64_t t = 0; t < steps; ++t) {
    const std::int64_t row = (b * T_ + t0 + t) * D + d0;
    const Reg u = V::load(a.u + row), dy = V::load(s.dy.data() + t * W), dt = V::load(s.dt.data() + t * W);
    const Reg gB = V::load(s.gB.data() + t * W);
    Reg du = V::mul(dt, gB);
    if (a.D) {
      du = V::fma(V::load(a.D + d0), dy, du);
      dD = V::fma(dy, u, dD);
    }
    V::store(a.du + row, du);
    Reg ddt = V::fma(gB, u, V::load(s.gAah.data() + t * W));
    if (a.delta_softplus) ddt = V::mul(ddt, V::sigmoid(V::load(s.raw.data() + t * W)));
    dbias = V::add(dbias, ddt);
    V::store(a.ddelta + row, ddt);
    if (a.z && a.dz) {
      // out = y silu(z): dz = dout y sigmoid(z) (1 + z (1 - sigmoid(z)))
      const Reg z = V::load(a.z + row), sig = V::sigmoid(z);
      const Reg one = V::set1(T(1));
      const Reg dsilu = V::mul(sig, V::fma(z, V::add(one, V::mul(V::set1(T(-1)), sig)), one));
      V::store(a.dz + row, V::mul(V::mul(V::load(a.dy + row), V::load(s.y.data() + t * W)), dsilu));
    }
  }
  V::store(sums, dD);
  V::store(sums + W, dbias);
}

// Channels d0 .. d1 of sequence b: chunks last to first, each for every channel group.
template <class V>
void backward_block(const SelectiveScanArgs<typename V::Value>& a, std::int64_t b, std::int64_t d0, std::int64_t d1,
                    typename V::Value* dBpart, typename V::Value* dCpart, const Partials<typename V::Value>& p,
                    BackwardScratch<typename V::Value>& s) {
  using T = typename V::Value;
  using Scratch = BackwardScratch<T>;
  GroupSlots<T>& g = s.groups;
  std::int64_t i = 0;
  for_lane_groups<V, T>(d0, d1, [&](auto lanes, std::int64_t d) {
    using L = decltype(lanes);
    load_decay_rates<L>(a, d, g.slot(i, Scratch::kA), g.slot(i, Scratch::kA2));
    gather_state<L>(a.dfinal_state, a, b, d, g.slot(i, Scratch::kCarry));
    std::fill_n(g.slot(i, Scratch::kDA), a.d_state * L::W, T(0));
    std::fill_n(g.slot(i, Scratch::kSums), 2 * L::W, T(0));
    ++i;
  });
  for (std::int64_t c = chunk_count(a.seq_len) - 1; c >= 0; --c) {
    i = 0;
    for_lane_groups<V, T>(d0, d1, [&](auto lanes, std::int64_t d) {
      backward_chunk<decltype(lanes)>(a, b, d, c, dBpart, dCpart, s, i++);
    });
  }
  i = 0;
  for_lane_groups<V, T>(d0, d1, [&](auto lanes, std::int64_t d) {
    using L = decltype(lanes);
    if (a.dinitial_state) scatter_state<L>(g.slot(i, Scratch::kCarry), a, b, d, a.dinitial_state);
    scatter_state<L>(g.slot(i, Scratch::kDA), a, b, d, p.dA);  // [B, D, N] at sequence b
    const T* sums = g.slot(i, Scratch::kSums);
    std::copy_n(sums, L::W, p.dD + b * a.channels + d);
    std::copy_n(sums + L::W, L::W, p.dbias + b * a.channels + d);
    ++i;
  });
}

}  // namespace

template <class T>
void selective_scan_bwd_cpu(const SelectiveScanArgs<T>& a) {
  using V = FastLanes<T>;
  const std::int64_t T_ = a.seq_len, D = a.channels, N = a.d_state, blocks = channel_blocks(D);
  const Partials<T> p(a, a.workspace);
  parallel_items_with_scratch(
      a.batch * blocks, [&] { return BackwardScratch<T>(N, V::W); },
      [&](std::int64_t item, BackwardScratch<T>& s) {
        const std::int64_t b = item / blocks, block = item % blocks;
        T* dBpart = p.dB + (b * blocks + block) * T_ * N;
        T* dCpart = p.dC + (b * blocks + block) * T_ * N;
        std::fill_n(dBpart, T_ * N, T(0));
        std::fill_n(dCpart, T_ * N, T(0));
        const std::int64_t d0 = block * kChannelBlock;
        backward_block<V>(a, b, d0, std::min(D, d0 + kChannelBlock), dBpart, dCpart, p, s);
      },
      /*work_per_item=*/T_ * std::min(D, kChannelBlock) * N);
  // Fixed-order reductions of the partial sums.
  parallel_rows(a.batch * T_, N * blocks, [&](std::int64_t r) {
    const std::int64_t b = r / T_, t = r % T_;
    for (std::int64_t n = 0; n < N; ++n) {
      T sb = 0, sc = 0;
      for (std::int64_t k = 0; k < blocks; ++k) {
        sb += p.dB[((b * blocks + k) * T_ + t) * N + n];
        sc += p.dC[((b * blocks + k) * T_ + t) * N + n];
      }
      if (a.dB) a.dB[r * N + n] = sb;
      if (a.dC) a.dC[r * N + n] = sc;
    }
  });
  auto sum_over_batch = [&](const T* partial, std::int64_t width, T* out) {
    if (!out) return;
    parallel_rows(width, a.batch, [&](std::int64_t i) {
      T acc = 0;
      for (std::int64_t b = 0; b < a.batch; ++b) acc += partial[b * width + i];
      out[i] = acc;
    });
  };
  sum_over_batch(p.dA, D * N, a.dA);
  sum_over_batch(p.dD, D, a.dD);
  sum_over_batch(p.dbias, D, a.ddelta_bias);
}

STRATA_KERNEL_TARGETS(selective_scan_bwd_cpu, SelectiveScanArgs)
#endif  // STRATA_SIZELESS_VECTORS

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(selective_scan_bwd_cpu, SelectiveScanArgs)

// The chunking and channel blocking are the same on every target; the static one answers.
std::int64_t selective_scan_checkpoint_size(std::int64_t batch, std::int64_t seq_len, std::int64_t channels,
                                            std::int64_t d_state) {
  return batch * HWY_NAMESPACE::scan::chunk_count(seq_len) * d_state * channels;
}
std::int64_t selective_scan_bwd_workspace_size(std::int64_t batch, std::int64_t seq_len, std::int64_t channels,
                                               std::int64_t d_state) {
  return 2 * batch * HWY_NAMESPACE::channel_blocks(channels) * seq_len * d_state + batch * channels * d_state +
         2 * batch * channels;
}

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
