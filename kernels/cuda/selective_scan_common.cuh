#pragma once
// Device pieces shared by the selective scan's forward and backward (selective_scan_fwd.cu,
// selective_scan_bwd.cu): where a thread works, a thread's slice of steps and its decays, the
// block's shared memory and the fold of the slices before a thread, the argument checks and
// the launch shape. The formulas are the
// CPU scan's (kernels/cpu/selective_scan_common-inl.h, scan_lanes-inl.h): exp(dt A) as
// exp2(dt * A log2(e)), softplus without a threshold, the stable sigmoid.
#include <cmath>
#include <cstdint>
#include <string>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/selective_scan.h"
#include "kernels/unary_math.h"

namespace strata::kernels::cuda::scan {

inline constexpr double kLog2e = 1.4426950408889634;

__device__ inline float exp2_of(float x) { return exp2f(x); }
__device__ inline double exp2_of(double x) { return ::exp2(x); }

// log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|) (the CPU scan's softplus).
template <class T>
__device__ inline T softplus(T x) {
  return (x < T(0) ? T(0) : x) + std::log1p(std::exp(-std::fabs(x)));
}

template <class T>
__device__ inline T sigmoid(T x) {
  return kernels::sigmoid_stable(x);
}

// A channel's inputs at one step: u, the raw step delta + bias, and dt = softplus?(raw).
template <class T>
struct StepInputs {
  T u, raw, dt;
};

inline constexpr int kScanBlock = kScanWarps * kWarp;  // threads per block: 32 channels x kScanWarps slices

// Where a thread works: channel d of group `group` (block k of the grid's x is block k %
// per_group of group k / per_group; threads past the group's last channel are inactive and
// still join every barrier and shuffle, with zero inputs), slice `warp` of each chunk, and
// its step-size column (d / head_dim).
struct ScanThread {
  int lane, warp;
  std::int64_t d, group, column;
  bool active;
};
__device__ inline ScanThread scan_thread(std::int64_t channels, const ScanLayout& l) {
  const int lane = int(threadIdx.x) % kWarp, warp = int(threadIdx.x) / kWarp;
  const std::int64_t per_group = scan_blocks_per_group(channels, l.groups), width = channels / l.groups;
  const std::int64_t group = std::int64_t(blockIdx.x) / per_group;
  const std::int64_t local = std::int64_t(blockIdx.x) % per_group * kWarp + lane;
  const std::int64_t d = group * width + local;
  return {lane, warp, d, group, d / l.head_dim, local < width};
}

// The inputs of thread th's channel at step (b, t) (bt = b * T + t); zeros for an inactive
// thread, whose states then stay zero.
template <class T>
__device__ inline StepInputs<T> step_inputs(const SelectiveScanArgs<T>& a, const ScanLayout& l, std::int64_t bt,
                                            const ScanThread& th, bool active) {
  if (!active) return {T(0), T(0), T(0)};
  T raw = a.delta[bt * (a.channels / l.head_dim) + th.column];
  if (a.delta_bias) raw = raw + a.delta_bias[th.column];
  return {a.u[bt * a.channels + th.d], raw, a.delta_softplus ? softplus(raw) : raw};
}

// A thread's slice of steps t0 .. t0 + kScanSlice of sequence b: dt and dt * u per step,
// zero past the sequence's end and for inactive threads (a zero dt makes the step's decay
// 1 and its input 0: the state passes through unchanged), and which steps open a packed
// document (the state restarts from zero there: the step's decay is 0).
template <class T>
struct Slice {
  std::int64_t t0;
  int steps;  // of the slice inside the sequence, 0 .. kScanSlice
  T dt[kScanSlice], dtu[kScanSlice];
  unsigned restart;  // bit j: step t0 + j opens a document

  __device__ T decay(int j, T A2) const { return (restart >> j) & 1u ? T(0) : exp2_of(dt[j] * A2); }
  // Element n of B or C [B, T, G, N] at step t0 + j, group g; 0 past the end (the rows are
  // shared by the group's channels: the warp's lanes read one address).
  __device__ T state_row(const T* m, std::int64_t b, std::int64_t T_, std::int64_t G, std::int64_t g, std::int64_t N,
                         std::int64_t n, int j) const {
    return j < steps ? m[((b * T_ + t0 + j) * G + g) * N + n] : T(0);
  }
};

template <class T>
__device__ Slice<T> load_slice(const SelectiveScanArgs<T>& a, const ScanLayout& l, std::int64_t b, std::int64_t chunk,
                               const ScanThread& th) {
  Slice<T> s;
  const std::int64_t T_ = a.seq_len;
  s.t0 = chunk * kScanChunk + std::int64_t(th.warp) * kScanSlice;
  const std::int64_t left = T_ - s.t0;
  s.steps = left <= 0 ? 0 : (left < kScanSlice ? int(left) : kScanSlice);
  s.restart = 0;
#pragma unroll
  for (int j = 0; j < kScanSlice; ++j) {
    const bool in = j < s.steps;
    const StepInputs<T> v = step_inputs(a, l, b * T_ + s.t0 + j, th, in && th.active);
    s.dt[j] = v.dt;
    s.dtu[j] = v.dt * v.u;
    if (in && document_starts_at(a.seq_start, b, T_, s.t0 + j)) s.restart |= 1u << j;
  }
  return s;
}

// The block's shared memory: `carry` [N, 32] passes each lane's state (forward) or adjoint
// (backward) of every state index from one chunk to the next, and per phase (two,
// alternating with the state index, so that one state's summaries are written while the
// previous one's are still read) the slices' summaries [kScanWarps, 32]: the state at the
// slice's end run from zero (the first slice: from its true entering state), the product of
// its decays, the adjoint it passes to the step before it run from zero (the last slice:
// from its true incoming adjoint), and its part of dA.
template <class T>
struct ScanShared {
  enum Summary { kEnd, kProduct, kBack, kDA, kSummaries };
  T* carry;      // [N, 32]
  T* summaries;  // [2 phases, kSummaries, kScanWarps, 32]

  static std::size_t bytes(std::int64_t d_state) {
    return std::size_t(d_state + 2 * kSummaries * kScanWarps) * kWarp * sizeof(T);
  }
  __device__ ScanShared(T* base, std::int64_t d_state) : carry(base), summaries(base + d_state * kWarp) {}
  // Summary `what` of slice `warp`, lane `lane`, in phase p (computed, not a pointer table:
  // an array indexed at run time would live in local memory).
  __device__ T& at(int p, Summary what, int warp, int lane) const {
    return summaries[((p * kSummaries + what) * kScanWarps + warp) * kWarp + lane];
  }
};

// The true state entering slice `warp` >= 1: the first slice's end (run from the chunk's
// entering state), carried through the slices between (product * h + end, in order).
template <class T>
__device__ inline T entering_state(const ScanShared<T>& sh, int p, const ScanThread& th) {
  using S = ScanShared<T>;
  T h = sh.at(p, S::kEnd, 0, th.lane);
  for (int v = 1; v < th.warp; ++v) h = sh.at(p, S::kProduct, v, th.lane) * h + sh.at(p, S::kEnd, v, th.lane);
  return h;
}

// "" or why the kernels cannot take these arguments under layout l: a d_state over
// kScanMaxState, channels that do not split into heads and groups, a delta bias (per
// channel) under heads of several channels.
template <class T>
std::string check_scan_args(const SelectiveScanArgs<T>& a, const ScanLayout& l) {
  if (a.d_state > kScanMaxState)
    return "selective_scan: d_state " + std::to_string(a.d_state) + " is over the CUDA kernels' limit of " +
           std::to_string(kScanMaxState);
  if (l.head_dim < 1 || l.groups < 1 || a.channels % l.head_dim != 0 || a.channels % l.groups != 0)
    return "selective_scan: " + std::to_string(a.channels) + " channels do not split into heads of " +
           std::to_string(l.head_dim) + " and " + std::to_string(l.groups) + " groups";
  if (l.head_dim > 1 && (a.delta_bias || a.ddelta_bias))
    return "selective_scan: a delta bias is per channel; under heads of several channels it is not taken";
  return {};
}

// Launch shape: a block per (block of 32 channels of a group, sequence); grid.y strides over
// the sequences.
inline dim3 scan_grid(std::int64_t batch, std::int64_t channels, const ScanLayout& l) {
  return dim3(unsigned(scan_channel_blocks(channels, l.groups)), unsigned(batch < 65535 ? batch : 65535));
}

// A's entry for thread th's channel and state n (a row per channel, or a scalar per head);
// zero for an inactive thread.
template <class T>
__device__ inline T A_entry(const SelectiveScanArgs<T>& a, const ScanLayout& l, const ScanThread& th, std::int64_t n) {
  if (!th.active) return T(0);
  return l.scalar_A ? a.A[th.column] : a.A[th.d * a.d_state + n];
}

// decay[j] = exp(dt_j A) of state n over the slice's steps: computed for every n, or once
// (n = 0) when A is a scalar per head and decays every state alike.
template <class T>
__device__ inline void slice_decays(const Slice<T>& s, const SelectiveScanArgs<T>& a, const ScanLayout& l,
                                    const ScanThread& th, std::int64_t n, T (&decay)[kScanSlice]) {
  if (l.scalar_A && n > 0) return;
  // exp(dt A) = exp2(dt A2), A2 rounded from double as the CPU does
  const T A2 = T(double(A_entry(a, l, th, n)) * kLog2e);
#pragma unroll
  for (int j = 0; j < kScanSlice; ++j) decay[j] = s.decay(j, A2);
}

}  // namespace strata::kernels::cuda::scan
