// Selective scan forward on a CUDA device (see selective_scan.h): a block per (32 channels,
// sequence), its warps the slices of each chunk. For each state index n, every thread runs
// its slice from zero (the first slice from the chunk's entering state), the slices meet in
// shared memory, and every thread runs its slice again from its true entering state,
// adding C h to its steps' outputs.
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

// u, z, y [B, T, D]; delta [B, T, D / P]; A [D, N] (or [D / P]); B, C [B, T, G, N];
// initial_state, final_state [B, D, N]; checkpoints [B, chunks, N, D] (P, G: the layout).
// Block (k, b): 32 channels of one group (scan_thread) of sequence b.
template <class T>
__global__ void __launch_bounds__(scan::kScanBlock)
    selective_scan_fwd_kernel(const SelectiveScanArgs<T> a, const ScanLayout l) {
  extern __shared__ __align__(16) unsigned char scan_shared[];
  using Shared = ScanShared<T>;
  const Shared sh(reinterpret_cast<T*>(scan_shared), a.d_state);
  const std::int64_t T_ = a.seq_len, D = a.channels, N = a.d_state;
  const ScanThread th = scan::scan_thread(D, l);
  const std::int64_t chunks = scan_chunk_count(T_);
  const bool first_slice = th.warp == 0, last_slice = th.warp == kScanWarps - 1;

  for (std::int64_t b = blockIdx.y; b < a.batch; b += gridDim.y) {
    // the state entering the sequence, for state n
    auto initial = [&](std::int64_t n) {
      return th.active && a.initial_state ? a.initial_state[(b * D + th.d) * N + n] : T(0);
    };
    if (chunks == 0 && first_slice && th.active && a.final_state)
      for (std::int64_t n = 0; n < N; ++n) a.final_state[(b * D + th.d) * N + n] = initial(n);

    for (std::int64_t c = 0; c < chunks; ++c) {
      const Slice<T> s = scan::load_slice(a, l, b, c, th);
      T y[kScanSlice], decay[kScanSlice];
#pragma unroll
      for (int j = 0; j < kScanSlice; ++j) y[j] = T(0);

#pragma unroll 1
      for (std::int64_t n = 0; n < N; ++n) {
        const int p = int(n & 1);
        // The slice from zero (the first slice from the chunk's entering state, which it
        // also saves for the backward): decays (the same for every n with a scalar A) and
        // inputs kept for the second run.
        scan::slice_decays(s, a, l, th, n, decay);
        T input[kScanSlice];
        const T entering = first_slice ? (c == 0 ? initial(n) : sh.carry[n * kWarp + th.lane]) : T(0);
        if (first_slice && th.active && a.checkpoints) a.checkpoints[((b * chunks + c) * N + n) * D + th.d] = entering;
        T h = entering, product = T(1);
#pragma unroll
        for (int j = 0; j < kScanSlice; ++j) {
          input[j] = s.dtu[j] * s.state_row(a.B, b, T_, l.groups, th.group, N, n, j);
          h = decay[j] * h + input[j];
          product *= decay[j];
        }
        sh.at(p, Shared::kEnd, th.warp, th.lane) = h;
        sh.at(p, Shared::kProduct, th.warp, th.lane) = product;
        __syncthreads();

        // The slice again from its true entering state.
        h = first_slice ? entering : scan::entering_state(sh, p, th);
#pragma unroll
        for (int j = 0; j < kScanSlice; ++j) {
          h = decay[j] * h + input[j];
          y[j] += s.state_row(a.C, b, T_, l.groups, th.group, N, n, j) * h;
        }
        // The last slice's end enters the next chunk (the first slice reads it there, after
        // this chunk's closing barrier).
        if (last_slice) {
          if (c + 1 < chunks)
            sh.carry[n * kWarp + th.lane] = h;
          else if (th.active && a.final_state)
            a.final_state[(b * D + th.d) * N + n] = h;
        }
      }
      __syncthreads();  // the carry is written; this chunk's summaries are read

      if (!th.active) continue;
#pragma unroll
      for (int j = 0; j < kScanSlice; ++j) {  // unrolled, so that y stays in registers
        if (j >= s.steps) break;
        const std::int64_t row = (b * T_ + s.t0 + j) * D + th.d;
        const T u = a.u[row];
        T out = a.D ? a.D[th.d] * u + y[j] : y[j];
        if (a.z) {
          const T z = a.z[row];
          out = out * (z * scan::sigmoid(z));
        }
        a.y[row] = out;
      }
    }
  }
}

}  // namespace

template <class T>
std::string diagonal_scan_fwd_cuda(const SelectiveScanArgs<T>& a, const ScanLayout& l, int device) {
  if (auto e = use_device(device); !e.empty()) return e;
  if (auto e = scan::check_scan_args(a, l); !e.empty()) return e;
  if (a.batch == 0 || a.channels == 0) return {};  // nothing to write
  const std::size_t bytes = ScanShared<T>::bytes(a.d_state);
  if (auto e = allow_shared_memory(selective_scan_fwd_kernel<T>, bytes); !e.empty()) return e;
  selective_scan_fwd_kernel<T><<<scan::scan_grid(a.batch, a.channels, l), scan::kScanBlock, bytes>>>(a, l);
  return launch_status();
}

template <class T>
std::string selective_scan_fwd_cuda(const SelectiveScanArgs<T>& a, int device) {
  return diagonal_scan_fwd_cuda(a, ScanLayout{}, device);
}

template std::string diagonal_scan_fwd_cuda<float>(const SelectiveScanArgs<float>&, const ScanLayout&, int);
template std::string diagonal_scan_fwd_cuda<double>(const SelectiveScanArgs<double>&, const ScanLayout&, int);
template std::string selective_scan_fwd_cuda<float>(const SelectiveScanArgs<float>&, int);
template std::string selective_scan_fwd_cuda<double>(const SelectiveScanArgs<double>&, int);

}  // namespace strata::kernels::cuda
