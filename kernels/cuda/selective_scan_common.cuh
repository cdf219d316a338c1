#pragma once
// Device pieces shared by the selective scan's forward and backward (selective_scan_fwd.cu,
// selective_scan_bwd.cu): the per-step inputs of a channel, the block's shared-memory stage
// of B and C rows, one step of the recurrence, and the launch shape. The formulas are the
// CPU scan's (kernels/cpu/selective_scan_common-inl.h, scan_lanes-inl.h): exp(dt A) as
// exp2(dt * A log2(e)), softplus without a threshold, the stable sigmoid.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

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

// The inputs of channel d at row (b * T + t) * D + d; zeros for a thread past the last
// channel (active false), whose states then stay zero.
template <class T>
__device__ inline StepInputs<T> step_inputs(const SelectiveScanArgs<T>& a, std::int64_t row, std::int64_t d,
                                            bool active) {
  if (!active) return {T(0), T(0), T(0)};
  T raw = a.delta[row];
  if (a.delta_bias) raw = raw + a.delta_bias[d];
  return {a.u[row], raw, a.delta_softplus ? softplus(raw) : raw};
}

// Rows ts .. ts+steps of B and C [B, T, N] of one sequence, padded with zeros to
// kScanStage steps and NMAX states (a padded state gets no input and stays zero), and
// whether each step opens a packed document (the state restarts from zero there).
template <class T, int NMAX>
struct Stage {
  T B[kScanStage][NMAX];
  T C[kScanStage][NMAX];
  bool restart[kScanStage];
};

// Loads the stage of sequence b at steps ts .. ts+steps (steps <= kScanStage); every
// thread of the block calls it (it synchronises the block before and after).
template <class T, int NMAX>
__device__ void load_stage(const SelectiveScanArgs<T>& a, std::int64_t b, std::int64_t ts, std::int64_t steps,
                           Stage<T, NMAX>& stage) {
  const std::int64_t T_ = a.seq_len, N = a.d_state;
  __syncthreads();  // threads may still read the previous stage
  for (int i = threadIdx.x; i < kScanStage * NMAX; i += blockDim.x) {
    const int j = i / NMAX, n = i % NMAX;
    const bool in = j < steps && n < N;
    const std::int64_t at = (b * T_ + ts + j) * N + n;
    stage.B[j][n] = in ? a.B[at] : T(0);
    stage.C[j][n] = in ? a.C[at] : T(0);
  }
  for (int j = threadIdx.x; j < kScanStage; j += blockDim.x) {
    const std::int64_t t = ts + j;  // as the CPU's restarts(): a start after t = 0
    stage.restart[j] = j < steps && document_starts_at(a.seq_start, b, T_, t);
  }
  __syncthreads();
}

// One step of a channel's states: h = exp2(dt * A2) h + dtu * B_t, with h set to zero
// first where a packed document starts (as the CPU forward does).
template <class T, int NMAX>
__device__ inline void advance(T (&h)[NMAX], const T (&A2)[NMAX], T dt, T dtu, const T (&Bt)[NMAX], bool restart) {
#pragma unroll
  for (int n = 0; n < NMAX; ++n) {
    if (restart) h[n] = T(0);
    h[n] = exp2_of(dt * A2[n]) * h[n] + dtu * Bt[n];
  }
}

// A state [.., N, D] slab (checkpoints, stage states, history) of channel d: element n at
// base[n * D + d]. Threads past the last channel neither read nor write.
template <class T, int NMAX>
__device__ inline void load_slab(T (&h)[NMAX], const T* base, std::int64_t N, std::int64_t D, std::int64_t d,
                                 bool active) {
#pragma unroll
  for (int n = 0; n < NMAX; ++n) h[n] = active && n < N ? base[n * D + d] : T(0);
}
template <class T, int NMAX>
__device__ inline void store_slab(const T (&h)[NMAX], T* base, std::int64_t N, std::int64_t D, std::int64_t d,
                                  bool active) {
#pragma unroll
  for (int n = 0; n < NMAX; ++n)
    if (active && n < N) base[n * D + d] = h[n];
}

// Launch shape: blocks of kScanThreads channels of one sequence; grid.y strides over the
// sequences.
inline dim3 scan_grid(std::int64_t batch, std::int64_t channels) {
  const std::int64_t x = (channels + kScanThreads - 1) / kScanThreads;
  return dim3(unsigned(x), unsigned(batch < 65535 ? batch : 65535));
}

// Calls launch(std::integral_constant<int, NMAX>{}) with the smallest state bound NMAX
// that holds d_state, of 16, 32, 64 for f32 (registers per thread follow the bound) and 64
// for f64 (the reference precision, where speed matters less than build time: every bound
// is compiled for every GPU architecture); an error for a larger d_state.
template <class T, class Launch>
std::string with_state_bound(std::int64_t d_state, Launch&& launch) {
  if constexpr (sizeof(T) == 4) {
    if (d_state <= 16) return launch(std::integral_constant<int, 16>{});
    if (d_state <= 32) return launch(std::integral_constant<int, 32>{});
  }
  if (d_state <= kScanMaxState) return launch(std::integral_constant<int, 64>{});
  return "selective_scan: d_state " + std::to_string(d_state) + " is over the CUDA kernels' limit of " +
         std::to_string(kScanMaxState);
}

}  // namespace strata::kernels::cuda::scan
