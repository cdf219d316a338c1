// Selective scan forward on a CUDA device (see selective_scan.h): one thread per channel
// (b, d) with its states in registers, walking the sequence a stage of kScanStage steps at
// a time (the block's B and C rows staged in shared memory), saving the state entering
// every chunk of kScanChunk steps when the backward will need it.
#include <cstdint>
#include <string>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/selective_scan.h"
#include "kernels/cuda/selective_scan_common.cuh"

namespace strata::kernels::cuda {

namespace {

using scan::Stage;
using scan::StepInputs;

// u, delta, z, y [B, T, D]; A [D, N]; B, C [B, T, N]; initial_state, final_state [B, D, N];
// checkpoints [B, chunks, N, D]. Block (blockIdx.x, b): channels blockIdx.x * kScanThreads + threadIdx.x.
template <class T, int NMAX>
__global__ void __launch_bounds__(kScanThreads) selective_scan_fwd_kernel(const SelectiveScanArgs<T> a) {
  __shared__ Stage<T, NMAX> stage;
  const std::int64_t T_ = a.seq_len, D = a.channels, N = a.d_state;
  const std::int64_t d = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool active = d < D;  // threads past the last channel still join the block's stages
  const std::int64_t chunks = scan_chunk_count(T_);
  // exp(dt A) = exp2(dt * A log2(e)), A pre-scaled in double as the CPU does
  T A2[NMAX];
#pragma unroll
  for (int n = 0; n < NMAX; ++n) A2[n] = active && n < N ? T(double(a.A[d * N + n]) * scan::kLog2e) : T(0);

  for (std::int64_t b = blockIdx.y; b < a.batch; b += gridDim.y) {
    T h[NMAX];
#pragma unroll
    for (int n = 0; n < NMAX; ++n)
      h[n] = active && n < N && a.initial_state ? a.initial_state[(b * D + d) * N + n] : T(0);
    for (std::int64_t ts = 0; ts < T_; ts += kScanStage) {
      if (a.checkpoints && ts % kScanChunk == 0)
        scan::store_slab(h, a.checkpoints + (b * chunks + ts / kScanChunk) * N * D, N, D, d, active);
      const std::int64_t steps = T_ - ts < kScanStage ? T_ - ts : kScanStage;
      scan::load_stage(a, b, ts, steps, stage);
      for (int j = 0; j < steps; ++j) {
        const std::int64_t row = (b * T_ + ts + j) * D + d;
        const StepInputs<T> in = scan::step_inputs(a, row, d, active);
        scan::advance(h, A2, in.dt, in.dt * in.u, stage.B[j], stage.restart[j]);
        if (!active) continue;
        T y = a.D ? a.D[d] * in.u : T(0);
#pragma unroll
        for (int n = 0; n < NMAX; ++n) y += h[n] * stage.C[j][n];
        if (a.z) {
          const T z = a.z[row];
          y = y * (z * scan::sigmoid(z));
        }
        a.y[row] = y;
      }
    }
    if (active && a.final_state) {
#pragma unroll
      for (int n = 0; n < NMAX; ++n)
        if (n < N) a.final_state[(b * D + d) * N + n] = h[n];
    }
  }
}

}  // namespace

template <class T>
std::string selective_scan_fwd_cuda(const SelectiveScanArgs<T>& a, int device) {
  if (auto e = use_device(device); !e.empty()) return e;
  if (a.batch == 0 || a.channels == 0) return {};  // nothing to write
  return scan::with_state_bound<T>(a.d_state, [&](auto bound) -> std::string {
    constexpr int NMAX = decltype(bound)::value;
    selective_scan_fwd_kernel<T, NMAX><<<scan::scan_grid(a.batch, a.channels), kScanThreads>>>(a);
    return launch_status();
  });
}

template std::string selective_scan_fwd_cuda<float>(const SelectiveScanArgs<float>&, int);
template std::string selective_scan_fwd_cuda<double>(const SelectiveScanArgs<double>&, int);

}  // namespace strata::kernels::cuda
