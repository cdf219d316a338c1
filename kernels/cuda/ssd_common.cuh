#pragma once
// What the SSD forward and backward kernels share: the step of the recurrence and the
// staging of a step's B and C rows, per (batch, head) block with a thread per state row p.
#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/ssd.h"

namespace strata::kernels::cuda {

// Where a step's numbers are, for block (b, h) of group g.
template <class T>
struct SsdStep {
  const SsdArgs<T>& a;
  std::int64_t b, h, g;
  __device__ std::int64_t bc(std::int64_t t) const { return ((b * a.seq_len + t) * a.groups + g) * a.d_state; }
  __device__ std::int64_t xy(std::int64_t t, std::int64_t p) const {
    return ((b * a.seq_len + t) * a.heads + h) * a.head_dim + p;
  }
  __device__ T dt(std::int64_t t) const { return a.dt[(b * a.seq_len + t) * a.heads + h]; }
  // A packed document that starts at t > 0 begins from a zero state.
  __device__ bool fresh(std::int64_t t) const { return document_starts_at(a.seq_start, b, a.seq_len, t); }
  // exp(dt A), or 0 where the state restarts.
  __device__ T decay(std::int64_t t) const { return fresh(t) ? T(0) : T(exp(dt(t) * a.A[h])); }
};

// Why the kernels cannot take these shapes, or "".
template <class T>
std::string ssd_unsupported(const SsdArgs<T>& a) {
  if (a.d_state > kSsdMaxState)
    return "d_state = " + std::to_string(a.d_state) + " is above the CUDA SSD kernel's " + std::to_string(kSsdMaxState);
  if (a.head_dim > kSsdMaxHeadDim)
    return "head_dim = " + std::to_string(a.head_dim) + " is above " + std::to_string(kSsdMaxHeadDim) +
           " (one thread per row)";
  if (a.groups < 1 || a.heads % a.groups != 0) return "heads must be a multiple of groups";
  return {};
}

// b_row, c_row [N] = B[b, t, g, :], C[b, t, g, :] (c_row may be null), by the whole block,
// which it synchronises twice: before (the rows may still be read) and after.
template <class T>
__device__ void stage_rows(const SsdStep<T>& s, std::int64_t t, T* b_row, T* c_row) {
  __syncthreads();
  const std::int64_t at = s.bc(t);
  for (std::int64_t n = threadIdx.x; n < s.a.d_state; n += blockDim.x) {
    b_row[n] = s.a.B[at + n];
    if (c_row) c_row[n] = s.a.C[at + n];
  }
  __syncthreads();
}

// One step of row p: S[n] = decay S[n] + u B[n] over the first N of kMax (unrolled: S stays
// in registers when its indices are compile-time).
template <class T, int kMax>
__device__ void ssd_advance(T* S, T decay, T u, const T* b_row, std::int64_t N) {
#pragma unroll
  for (int n = 0; n < kMax; ++n)
    if (n < N) S[n] = decay * S[n] + u * b_row[n];
}

}  // namespace strata::kernels::cuda
