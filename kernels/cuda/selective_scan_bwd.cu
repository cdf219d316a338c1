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
// Blocks and slices as the forward's; chunks are walked last to first. For each state index
// n, every thread runs its slice from zero twice: forward for the states (the first slice
// from the chunk's checkpoint) and backward for the adjoint a_t g_t it passes to the step
// before its slice (the last slice from the adjoint entering the chunk from the one after).
// Both are linear in what enters the slice, with the same factor (the product of the
// slice's decays), so after one barrier each thread folds the slices before it into its
// entering state and the slices after it into its incoming adjoint, recomputes its states
// and runs the adjoint over its steps. The sums over channels (dB, dC) are reduced over each
// warp with shuffles into per-group partials, dA over the slices in shared memory into
// per-sequence partials, dD and d(delta_bias) kept per sequence and slice; second kernels add
// the partials in a fixed order. No atomics: results are the same on every run.
#include <cstdint>
#include <string>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/selective_scan.h"
#include "kernels/cuda/selective_scan_common.cuh"

namespace strata::kernels::cuda {

namespace {

using scan::ScanShared;
using scan::ScanThread;
using scan::Slice;

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

// out[j] = the sum over the warp's lanes of v[j], for the slice's steps j < steps, written
// by one lane per step; every lane of the warp must call it.
template <class T>
__device__ inline void store_slice_sums(T (&v)[kScanSlice], T* out, int steps) {
  constexpr int lanes_per_total = kWarp / kScanSlice;
  const T total = warp_transpose_sum<kScanSlice>(v);
  const int lane = int(threadIdx.x) % kWarp, j = lane / lanes_per_total;
  if (lane % lanes_per_total == 0 && j < steps) out[j] = total;
}

// The adjoint: u, z, dy and the outputs du, ddelta (per channel), dz [B, T, D]; delta
// [B, T, D / P]; A [D, N] (or [D / P]); B, C [B, T, G, N]; dfinal_state, dinitial_state
// [B, D, N]; checkpoints [B, chunks, N, D] from the forward (P, G: the layout). Writes du,
// ddelta, dz, dinitial_state and the workspace's partial sums. Block (k, b): 32 channels of
// one group (scan_thread) of sequence b.
template <class T>
__global__ void __launch_bounds__(scan::kScanBlock)
    selective_scan_bwd_kernel(const SelectiveScanArgs<T> a, const ScanLayout l, const SelectiveScanWorkspace<T> w) {
  extern __shared__ __align__(16) unsigned char scan_shared[];
  using Shared = ScanShared<T>;
  const Shared sh(reinterpret_cast<T*>(scan_shared), a.d_state);
  const std::int64_t T_ = a.seq_len, D = a.channels, N = a.d_state;
  const ScanThread th = scan::scan_thread(D, l);
  const std::int64_t chunks = scan_chunk_count(T_), blocks = scan_channel_blocks(D, l.groups), block = blockIdx.x;
  const bool first_slice = th.warp == 0, last_slice = th.warp == kScanWarps - 1;

  for (std::int64_t b = blockIdx.y; b < a.batch; b += gridDim.y) {
    // the adjoint entering the sequence's end, for state n
    auto final_adjoint = [&](std::int64_t n) {
      return th.active && a.dfinal_state ? a.dfinal_state[(b * D + th.d) * N + n] : T(0);
    };
    // The sequence's dA partial of state n so far (loaded before a barrier, so that its
    // latency passes while the block waits), and the sum adding state n's dA over the slices
    // (the summaries of phase p) to it; the first chunk walked (the last) starts from zero.
    auto dA_so_far = [&](std::int64_t n, bool first_walked) {
      return first_slice && th.active && !first_walked ? w.dA[(b * N + n) * D + th.d] : T(0);
    };
    auto add_dA = [&](std::int64_t n, int p, T so_far) {
      if (!first_slice || !th.active) return;
      T sum = so_far;
      for (int v = 0; v < kScanWarps; ++v) sum += sh.at(p, Shared::kDA, v, th.lane);
      w.dA[(b * N + n) * D + th.d] = sum;
    };
    if (chunks == 0 && first_slice && th.active)
      for (std::int64_t n = 0; n < N; ++n) {
        if (a.dinitial_state) a.dinitial_state[(b * D + th.d) * N + n] = final_adjoint(n);
        w.dA[(b * N + n) * D + th.d] = T(0);
      }

    T dD = T(0), dbias = T(0);
    for (std::int64_t c = chunks - 1; c >= 0; --c) {
      const Slice<T> s = scan::load_slice(a, l, b, c, th);
      T dy[kScanSlice];  // the gradient of the ungated output
#pragma unroll
      for (int j = 0; j < kScanSlice; ++j) {
        const std::int64_t row = (b * T_ + s.t0 + j) * D + th.d;
        const bool in = th.active && j < s.steps;
        const T dout = in ? a.dy[row] : T(0);
        const T z = in && a.z ? a.z[row] : T(0);
        dy[j] = a.z ? dout * (z * scan::sigmoid(z)) : dout;
      }
      // sums over n per step: g B, g A a h_{t-1}, C h
      T gB[kScanSlice], gAah[kScanSlice], y[kScanSlice], decay[kScanSlice];
#pragma unroll
      for (int j = 0; j < kScanSlice; ++j) gB[j] = gAah[j] = y[j] = T(0);

#pragma unroll 1
      for (std::int64_t n = 0; n < N; ++n) {
        const int p = int(n & 1);
        const T A = scan::A_entry(a, l, th, n);
        scan::slice_decays(s, a, l, th, n, decay);
        T input[kScanSlice], Bn[kScanSlice], Cn[kScanSlice];
#pragma unroll
        for (int j = 0; j < kScanSlice; ++j) {
          Bn[j] = s.state_row(a.B, b, T_, l.groups, th.group, N, n, j);
          Cn[j] = s.state_row(a.C, b, T_, l.groups, th.group, N, n, j);
          input[j] = s.dtu[j] * Bn[j];
        }
        // The slice from zero, forward for its end state and backward for the adjoint it
        // passes on (the first slice from the chunk's checkpoint, the last from the adjoint
        // entering the chunk).
        const T entering = first_slice && th.active ? a.checkpoints[((b * chunks + c) * N + n) * D + th.d] : T(0);
        const T incoming = last_slice ? (c + 1 == chunks ? final_adjoint(n) : sh.carry[n * kWarp + th.lane]) : T(0);
        T h = entering, q = incoming, product = T(1);
#pragma unroll
        for (int j = 0; j < kScanSlice; ++j) {
          h = decay[j] * h + input[j];
          product *= decay[j];
        }
#pragma unroll
        for (int j = kScanSlice - 1; j >= 0; --j) q = decay[j] * (Cn[j] * dy[j] + q);
        sh.at(p, Shared::kEnd, th.warp, th.lane) = h;
        sh.at(p, Shared::kProduct, th.warp, th.lane) = product;
        sh.at(p, Shared::kBack, th.warp, th.lane) = q;
        const T dA_before = n > 0 ? dA_so_far(n - 1, c + 1 == chunks) : T(0);
        __syncthreads();
        if (n > 0) add_dA(n - 1, 1 - p, dA_before);  // the summaries were written before this barrier

        // The true entering state and incoming adjoint: the slices before and after folded.
        const T h_in = first_slice ? entering : scan::entering_state(sh, p, th);
        q = incoming;
        if (!last_slice) {
          q = sh.at(p, Shared::kBack, kScanWarps - 1, th.lane);
          for (int v = kScanWarps - 2; v > th.warp; --v)
            q = sh.at(p, Shared::kProduct, v, th.lane) * q + sh.at(p, Shared::kBack, v, th.lane);
        }
        T hs[kScanSlice];  // the slice's states h_t
        h = h_in;
#pragma unroll
        for (int j = 0; j < kScanSlice; ++j) hs[j] = h = decay[j] * h + input[j];
        // The adjoint, last step first.
        T dB_lanes[kScanSlice], dC_lanes[kScanSlice], dA = T(0);
#pragma unroll
        for (int j = kScanSlice - 1; j >= 0; --j) {
          const T g = Cn[j] * dy[j] + q;
          const T h_prev = j > 0 ? hs[j - 1] : h_in;
          dC_lanes[j] = dy[j] * hs[j];
          dB_lanes[j] = g * s.dtu[j];
          gB[j] += g * Bn[j];
          const T gah = g * decay[j] * h_prev;
          gAah[j] += gah * A;
          dA += gah * s.dt[j];
          y[j] += hs[j] * Cn[j];
          q = decay[j] * g;
        }
        // The first slice's adjoint enters the chunk before (its last slice reads it there,
        // after this chunk's closing barrier).
        if (first_slice) {
          if (c > 0)
            sh.carry[n * kWarp + th.lane] = q;
          else if (th.active && a.dinitial_state)
            a.dinitial_state[(b * D + th.d) * N + n] = q;
        }
        sh.at(p, Shared::kDA, th.warp, th.lane) = dA;
        // block-uniform conditions: the whole warp shuffles or none of it
        const std::int64_t partial = ((b * blocks + block) * N + n) * T_ + s.t0;
        if (a.dB) store_slice_sums(dB_lanes, w.dB + partial, s.steps);
        if (a.dC) store_slice_sums(dC_lanes, w.dC + partial, s.steps);
      }
      const T dA_before = N > 0 ? dA_so_far(N - 1, c + 1 == chunks) : T(0);
      __syncthreads();  // the carry and the last state's dA summaries are written
      if (N > 0) add_dA(N - 1, int((N - 1) & 1), dA_before);

      if (!th.active) continue;
#pragma unroll
      for (int j = 0; j < kScanSlice; ++j) {  // unrolled, so that the sums stay in registers
        if (j >= s.steps) break;
        const std::int64_t row = (b * T_ + s.t0 + j) * D + th.d;
        const scan::StepInputs<T> in = scan::step_inputs(a, l, b * T_ + s.t0 + j, th, true);
        T du = in.dt * gB[j];
        if (a.D) {
          du = a.D[th.d] * dy[j] + du;
          dD += dy[j] * in.u;
        }
        a.du[row] = du;
        T ddt = gB[j] * in.u + gAah[j];
        if (a.delta_softplus) ddt = ddt * scan::sigmoid(in.raw);
        dbias += ddt;
        a.ddelta[row] = ddt;
        if (a.z && a.dz) {
          // out = y silu(z): dz = dout y sigmoid(z) (1 + z (1 - sigmoid(z)))
          const T z = a.z[row], dout = a.dy[row];
          const T sig = scan::sigmoid(z);
          const T dsilu = sig * (z * (T(1) - sig) + T(1));
          const T y_ungated = (a.D ? a.D[th.d] * in.u : T(0)) + y[j];
          a.dz[row] = dout * y_ungated * dsilu;
        }
      }
    }
    if (!th.active) continue;
    w.dD[(b * kScanWarps + th.warp) * D + th.d] = dD;
    w.ddelta_bias[(b * kScanWarps + th.warp) * D + th.d] = dbias;
  }
}

// out [O, L, G, M] = the sums over k of partial [O, G, K, M, L], in k order (the partials'
// layout keeps a warp's writes contiguous; threads walk l fastest, so the reads are
// coalesced).
template <class T>
__global__ void sum_transposed_kernel(const T* partial, std::int64_t outer, std::int64_t G, std::int64_t K,
                                      std::int64_t M, std::int64_t L, T* out) {
  for (std::int64_t i = global_index(); i < outer * G * M * L; i += grid_size()) {
    const std::int64_t o = i / (G * M * L), g = i / (M * L) % G, m = i / L % M, l = i % L;
    T acc = 0;
    for (std::int64_t k = 0; k < K; ++k) acc += partial[(((o * G + g) * K + k) * M + m) * L + l];
    out[((o * L + l) * G + g) * M + m] = acc;
  }
}

template <class T>
void sum_transposed(const T* partial, std::int64_t outer, std::int64_t G, std::int64_t K, std::int64_t M,
                    std::int64_t L, T* out) {
  if (!out || outer * G * M * L == 0) return;
  sum_transposed_kernel<<<blocks_for(outer * G * M * L), kThreads>>>(partial, outer, G, K, M, L, out);
}

// out [A, C] = the sums over r of x [A, R, C], in r order.
template <class T>
__global__ void sum_middle_kernel(const T* x, std::int64_t outer, std::int64_t reduced, std::int64_t inner, T* out) {
  for (std::int64_t i = global_index(); i < outer * inner; i += grid_size()) {
    const std::int64_t o = i / inner, c = i % inner;
    T acc = 0;
    for (std::int64_t r = 0; r < reduced; ++r) acc += x[(o * reduced + r) * inner + c];
    out[i] = acc;
  }
}

template <class T>
void sum_middle(const T* x, std::int64_t outer, std::int64_t reduced, std::int64_t inner, T* out) {
  if (!out || outer * inner == 0) return;
  sum_middle_kernel<<<blocks_for(outer * inner), kThreads>>>(x, outer, reduced, inner, out);
}

}  // namespace

template <class T>
std::string diagonal_scan_bwd_cuda(const SelectiveScanArgs<T>& a, const ScanLayout& l, int device) {
  if (auto e = use_device(device); !e.empty()) return e;
  if (auto e = scan::check_scan_args(a, l); !e.empty()) return e;
  const std::int64_t B = a.batch, T_ = a.seq_len, D = a.channels, N = a.d_state, G = l.groups, P = l.head_dim;
  if (!a.workspace || (B * D * T_ > 0 && !a.checkpoints))
    return "the selective scan's backward needs the forward's checkpoints and a workspace";
  const SelectiveScanWorkspace<T> w(a.workspace, B, T_, D, N, l);
  SelectiveScanArgs<T> k = a;  // the kernel writes the step-size gradient per channel
  if (w.ddelta_channels) k.ddelta = w.ddelta_channels;
  if (B > 0 && D > 0) {
    const std::size_t bytes = ScanShared<T>::bytes(N);
    if (auto e = allow_shared_memory(selective_scan_bwd_kernel<T>, bytes); !e.empty()) return e;
    selective_scan_bwd_kernel<T><<<scan::scan_grid(B, D, l), scan::kScanBlock, bytes>>>(k, l, w);
    if (auto e = launch_status(); !e.empty()) return e;
  }
  // With no channels (or no sequences) the sums below are empty sums: zeros.
  const std::int64_t per_group = scan_blocks_per_group(D, G);
  sum_transposed(w.dB, B, G, per_group, N, T_, a.dB);  // [B, G, K/G, N, T] -> [B, T, G, N]
  sum_transposed(w.dC, B, G, per_group, N, T_, a.dC);
  if (a.dA) {  // [B, N, D] -> [D, N], then over each head's channels and states for a scalar A
    sum_transposed(w.dA, std::int64_t(1), std::int64_t(1), B, N, D, l.scalar_A ? w.dA_channels : a.dA);
    if (l.scalar_A) sum_middle(w.dA_channels, D / P, P * N, std::int64_t(1), a.dA);
  }
  if (w.ddelta_channels) sum_middle(w.ddelta_channels, B * T_ * (D / P), P, std::int64_t(1), a.ddelta);
  sum_middle(w.dD, std::int64_t(1), B * kScanWarps, D, a.dD);
  sum_middle(w.ddelta_bias, std::int64_t(1), B * kScanWarps, D, a.ddelta_bias);
  return launch_status();
}

template <class T>
std::string selective_scan_bwd_cuda(const SelectiveScanArgs<T>& a, int device) {
  return diagonal_scan_bwd_cuda(a, ScanLayout{}, device);
}

template std::string diagonal_scan_bwd_cuda<float>(const SelectiveScanArgs<float>&, const ScanLayout&, int);
template std::string diagonal_scan_bwd_cuda<double>(const SelectiveScanArgs<double>&, const ScanLayout&, int);
template std::string selective_scan_bwd_cuda<float>(const SelectiveScanArgs<float>&, int);
template std::string selective_scan_bwd_cuda<double>(const SelectiveScanArgs<double>&, int);

}  // namespace strata::kernels::cuda
