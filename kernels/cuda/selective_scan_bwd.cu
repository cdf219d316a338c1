// Selective scan backward on a CUDA device (see selective_scan.h). With a_t = exp(dt_t A),
// g_t = dL/dh_t (the CPU kernel's formulas, kernels/cpu/selective_scan_bwd.cpp):
//   g_t = C_t dy_t + a_{t+1} g_{t+1}           (g after the last step: dfinal_state)
//   dC_t[n] = sum_d dy_t h_t;  dB_t[n] = sum_d g_t dt_t u_t
//   du_t = dt_t sum_n g_t B_t + D dy_t
//   ddt_t = sum_n g_t (A a_t h_{t-1} + B_t u_t);  dA = sum_{b,t} g_t a_t dt_t h_{t-1}
//   dh0 = a_0 g_0
// where dy is the gradient of the ungated output (dout * silu(z)); a_t = 0 where a packed
// document starts (the step does not depend on h_{t-1}).
//
// One thread per channel (b, d), as the forward. Chunks are walked last to first; in each,
// a first pass recomputes the state entering each of its stages from the chunk's checkpoint,
// then the stages are walked last to first: recompute the stage's states into `history`,
// run the adjoint backwards over the stage. The sums over channels (dB, dC) are reduced
// over each warp with shuffles into per-warp partials, the sums over sequences (dA, dD,
// d(delta_bias)) are kept per sequence; second kernels add the partials in a fixed order.
// No atomics: results are the same on every run.
#include <cstdint>
#include <string>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/selective_scan.h"
#include "kernels/cuda/selective_scan_common.cuh"

namespace strata::kernels::cuda {

namespace {

using scan::Stage;
using scan::StepInputs;

// Sums v[k] over the warp's 32 lanes for every k < S (S a power of two up to 32) in
// S - 1 + log2(32 / S) shuffles instead of 5 S: each round, a lane keeps one half of its
// values (the upper half where its lane bit `offset` is set) and adds the partner's sums of
// that half, received in exchange for the other half. After log2(S) rounds a lane holds
// one value, index lane / (32 / S), summed over the S lanes that differ in the high lane
// bits; plain butterfly rounds over the low bits finish it. Every lane gets its total.
template <int S, class T>
__device__ inline T warp_transpose_sum(T (&v)[S]) {
  static_assert(S >= 1 && S <= kWarp && (S & (S - 1)) == 0, "S is a power of two up to a warp");
  const int lane = threadIdx.x % kWarp;
  int offset = kWarp / 2;
#pragma unroll
  for (int count = S; count > 1; count /= 2, offset /= 2) {
    const bool upper = (lane & offset) != 0;
#pragma unroll
    for (int k = 0; k < count / 2; ++k) {
      const T keep = upper ? v[k + count / 2] : v[k];
      const T send = upper ? v[k] : v[k + count / 2];
      v[k] = keep + __shfl_xor_sync(0xffffffffu, send, offset);
    }
  }
  T total = v[0];
  for (; offset > 0; offset /= 2) total += __shfl_xor_sync(0xffffffffu, total, offset);
  return total;
}

// out[n] = sum over the warp's lanes of v[n], for n < N, written by one lane per n when
// `write`; every lane of the warp must call it. States in groups of min(NMAX, 32).
template <class T, int NMAX>
__device__ inline void store_warp_sums(const T (&v)[NMAX], T* out, std::int64_t N, bool write) {
  constexpr int R = NMAX < kWarp ? NMAX : kWarp;
  constexpr int lanes_per_total = kWarp / R;
  const int lane = threadIdx.x % kWarp;
#pragma unroll
  for (int n0 = 0; n0 < NMAX; n0 += R) {
    T part[R];
#pragma unroll
    for (int k = 0; k < R; ++k) part[k] = v[n0 + k];
    const T total = warp_transpose_sum<R>(part);
    const int n = n0 + lane / lanes_per_total;
    if (write && lane % lanes_per_total == 0 && n < N) out[n] = total;
  }
}

// The adjoint of one channel: u, delta, z, dy and the outputs du, ddelta, dz [B, T, D];
// A [D, N]; B, C [B, T, N]; dfinal_state, dinitial_state [B, D, N]; checkpoints
// [B, chunks, N, D] from the forward. Writes du, ddelta, dz, dinitial_state and the
// workspace's partial sums. Block (blockIdx.x, b): channels blockIdx.x * kScanThreads + threadIdx.x.
template <class T, int NMAX>
__global__ void __launch_bounds__(kScanThreads)
    selective_scan_bwd_kernel(const SelectiveScanArgs<T> a, const SelectiveScanWorkspace<T> w) {
  __shared__ Stage<T, NMAX> stage;
  const std::int64_t T_ = a.seq_len, D = a.channels, N = a.d_state, ND = N * D;
  const std::int64_t d = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool active = d < D;  // threads past the last channel still join stages and shuffles, with zeros
  const std::int64_t warps = scan_channel_warps(D), warp = d / kWarp;
  const bool warp_writes = warp < warps;  // warp-uniform: some channel of the warp exists
  const std::int64_t chunks = scan_chunk_count(T_);
  T A[NMAX], A2[NMAX];
#pragma unroll
  for (int n = 0; n < NMAX; ++n) {
    A[n] = active && n < N ? a.A[d * N + n] : T(0);
    A2[n] = T(double(A[n]) * scan::kLog2e);
  }

  for (std::int64_t b = blockIdx.y; b < a.batch; b += gridDim.y) {
    T g[NMAX], dA[NMAX];  // g: the adjoint carried into the step before (a_{t+1} g_{t+1})
#pragma unroll
    for (int n = 0; n < NMAX; ++n) {
      g[n] = active && n < N && a.dfinal_state ? a.dfinal_state[(b * D + d) * N + n] : T(0);
      dA[n] = T(0);
    }
    T dD = 0, dbias = 0;
    T* stage_states = w.stage_states + b * kScanStagesPerChunk * ND;  // [stages, N, D] of sequence b
    T* history = w.history + b * kScanStage * ND;                      // [kScanStage, N, D]
    for (std::int64_t c = chunks - 1; c >= 0; --c) {
      const std::int64_t t0 = c * kScanChunk, t1 = T_ - t0 < kScanChunk ? T_ : t0 + kScanChunk;
      const std::int64_t stages = (t1 - t0 + kScanStage - 1) / kScanStage;  // only the last may be partial
      // The state entering each stage, from the checkpoint entering the chunk.
      T h[NMAX];
      scan::load_slab(h, a.checkpoints + (b * chunks + c) * ND, N, D, d, active);
      for (std::int64_t s = 0; s < stages; ++s) {
        scan::store_slab(h, stage_states + s * ND, N, D, d, active);
        if (s + 1 == stages) break;
        const std::int64_t ts = t0 + s * kScanStage;
        scan::load_stage(a, b, ts, kScanStage, stage);
        for (int j = 0; j < kScanStage; ++j) {
          const StepInputs<T> in = scan::step_inputs(a, (b * T_ + ts + j) * D + d, d, active);
          scan::advance(h, A2, in.dt, in.dt * in.u, stage.B[j], stage.restart[j]);
        }
      }
      for (std::int64_t s = stages - 1; s >= 0; --s) {
        const std::int64_t ts = t0 + s * kScanStage, steps = t1 - ts < kScanStage ? t1 - ts : kScanStage;
        scan::load_stage(a, b, ts, steps, stage);
        // history[j] = h_{ts+j-1}, the state entering step ts + j; h ends as the stage's last state
        scan::load_slab(h, stage_states + s * ND, N, D, d, active);
        for (int j = 0; j < steps; ++j) {
          scan::store_slab(h, history + j * ND, N, D, d, active);
          const StepInputs<T> in = scan::step_inputs(a, (b * T_ + ts + j) * D + d, d, active);
          scan::advance(h, A2, in.dt, in.dt * in.u, stage.B[j], stage.restart[j]);
        }
        // The adjoint, last step first; h holds h_t on entry to each step.
        for (int j = int(steps) - 1; j >= 0; --j) {
          const std::int64_t t = ts + j, row = (b * T_ + t) * D + d;
          const StepInputs<T> in = scan::step_inputs(a, row, d, active);
          const T dtu = in.dt * in.u;
          const T dout = active ? a.dy[row] : T(0);
          const T z = active && a.z ? a.z[row] : T(0);
          const T dy = a.z ? dout * (z * scan::sigmoid(z)) : dout;  // gradient of the ungated output
          T h_prev[NMAX];
          scan::load_slab(h_prev, history + j * ND, N, D, d, active);
          const bool restart = stage.restart[j];
          T gB = 0, gAah = 0, y = 0;  // sum_n g B, sum_n g A a h_{t-1}, sum_n C h_t
          T dB_lanes[NMAX], dC_lanes[NMAX];
#pragma unroll
          for (int n = 0; n < NMAX; ++n) {
            const T decay = restart ? T(0) : scan::exp2_of(in.dt * A2[n]);
            const T gn = stage.C[j][n] * dy + g[n];
            dC_lanes[n] = dy * h[n];
            dB_lanes[n] = gn * dtu;
            gB += gn * stage.B[j][n];
            const T gah = gn * decay * h_prev[n];
            gAah += gah * A[n];
            dA[n] += gah * in.dt;
            g[n] = decay * gn;
            y += h[n] * stage.C[j][n];
            h[n] = h_prev[n];
          }
          // block-uniform conditions: the whole warp shuffles or none of it
          if (a.dB) store_warp_sums(dB_lanes, w.dB + ((b * warps + warp) * T_ + t) * N, N, warp_writes);
          if (a.dC) store_warp_sums(dC_lanes, w.dC + ((b * warps + warp) * T_ + t) * N, N, warp_writes);
          if (!active) continue;
          T du = in.dt * gB;
          if (a.D) {
            du = a.D[d] * dy + du;
            dD += dy * in.u;
          }
          a.du[row] = du;
          T ddt = gB * in.u + gAah;
          if (a.delta_softplus) ddt = ddt * scan::sigmoid(in.raw);
          dbias += ddt;
          a.ddelta[row] = ddt;
          if (a.z && a.dz) {
            // out = y silu(z): dz = dout y sigmoid(z) (1 + z (1 - sigmoid(z)))
            const T sig = scan::sigmoid(z);
            const T dsilu = sig * (z * (T(1) - sig) + T(1));
            const T y_ungated = (a.D ? a.D[d] * in.u : T(0)) + y;
            a.dz[row] = dout * y_ungated * dsilu;
          }
        }
      }
    }
    if (!active) continue;
#pragma unroll
    for (int n = 0; n < NMAX; ++n) {
      if (n >= N) continue;
      if (a.dinitial_state) a.dinitial_state[(b * D + d) * N + n] = g[n];
      w.dA[(b * D + d) * N + n] = dA[n];
    }
    w.dD[b * D + d] = dD;
    w.ddelta_bias[b * D + d] = dbias;
  }
}

// dB, dC [B, T, N] = the sums over warps of the partials [B, W, T, N], in warp order
// (each written when not null).
template <class T>
__global__ void sum_warp_partials_kernel(const T* pB, const T* pC, std::int64_t batch, std::int64_t warps,
                                         std::int64_t TN, T* dB, T* dC) {
  for (std::int64_t i = global_index(); i < batch * TN; i += grid_size()) {
    const std::int64_t b = i / TN, r = i % TN;
    T sb = 0, sc = 0;
    for (std::int64_t k = 0; k < warps; ++k) {
      const std::int64_t at = (b * warps + k) * TN + r;
      if (dB) sb += pB[at];
      if (dC) sc += pC[at];
    }
    if (dB) dB[i] = sb;
    if (dC) dC[i] = sc;
  }
}

// out[i] = sum_b partial[b * width + i], in sequence order.
template <class T>
__global__ void sum_over_batch_kernel(const T* partial, std::int64_t batch, std::int64_t width, T* out) {
  for (std::int64_t i = global_index(); i < width; i += grid_size()) {
    T acc = 0;
    for (std::int64_t b = 0; b < batch; ++b) acc += partial[b * width + i];
    out[i] = acc;
  }
}

template <class T>
void sum_over_batch(const T* partial, std::int64_t batch, std::int64_t width, T* out) {
  if (!out || width == 0) return;
  sum_over_batch_kernel<<<blocks_for(width), kThreads>>>(partial, batch, width, out);
}

}  // namespace

template <class T>
std::string selective_scan_bwd_cuda(const SelectiveScanArgs<T>& a, int device) {
  if (auto e = use_device(device); !e.empty()) return e;
  const std::int64_t B = a.batch, T_ = a.seq_len, D = a.channels, N = a.d_state;
  const SelectiveScanWorkspace<T> w(a.workspace, B, T_, D, N);
  if (B > 0 && D > 0) {
    const std::string e = scan::with_state_bound<T>(N, [&](auto bound) -> std::string {
      constexpr int NMAX = decltype(bound)::value;
      selective_scan_bwd_kernel<T, NMAX><<<scan::scan_grid(B, D), kScanThreads>>>(a, w);
      return launch_status();
    });
    if (!e.empty()) return e;
  }
  // With no channels (or no sequences) the sums below are empty sums: zeros.
  if ((a.dB || a.dC) && B * T_ * N > 0)
    sum_warp_partials_kernel<<<blocks_for(B * T_ * N), kThreads>>>(w.dB, w.dC, B, scan_channel_warps(D), T_ * N,
                                                                   a.dB, a.dC);
  sum_over_batch(w.dA, B, D * N, a.dA);
  sum_over_batch(w.dD, B, D, a.dD);
  sum_over_batch(w.ddelta_bias, B, D, a.ddelta_bias);
  return launch_status();
}

template std::string selective_scan_bwd_cuda<float>(const SelectiveScanArgs<float>&, int);
template std::string selective_scan_bwd_cuda<double>(const SelectiveScanArgs<double>&, int);

}  // namespace strata::kernels::cuda
