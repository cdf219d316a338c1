#pragma once
// What the gated delta rule's forward and backward kernels share: one step of a state
// column, and the staging of a step's q and k rows, per (batch, value head) block with a
// thread per column v of the state [K, V].
#include <cstdint>

#include "kernels/cuda/gated_delta_rule.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

// Where a step's numbers are, for block (b, h) of key head hk.
template <class T>
struct DeltaRuleStep {
  const GatedDeltaRuleArgs<T>& a;
  std::int64_t b, h, hk;
  __device__ std::int64_t qk(std::int64_t t) const { return ((b * a.seq_len + t) * a.key_heads + hk) * a.key_dim; }
  __device__ std::int64_t vo(std::int64_t t, std::int64_t v) const {
    return ((b * a.seq_len + t) * a.heads + h) * a.value_dim + v;
  }
  __device__ std::int64_t bth(std::int64_t t) const { return (b * a.seq_len + t) * a.heads + h; }
  // A packed document that starts at t > 0 begins from a zero state.
  __device__ bool fresh(std::int64_t t) const { return document_starts_at(a.seq_start, b, a.seq_len, t); }
  __device__ T decay(std::int64_t t) const { return fresh(t) ? T(0) : T(exp(a.g[bth(t)])); }
};

// Why the kernels cannot take these shapes, or "".
template <class T>
std::string delta_rule_unsupported(const GatedDeltaRuleArgs<T>& a) {
  if (a.key_dim > kDeltaRuleMaxKeyDim)
    return "key_dim = " + std::to_string(a.key_dim) + " is above the CUDA kernel's " +
           std::to_string(kDeltaRuleMaxKeyDim);
  if (a.value_dim > kDeltaRuleMaxValueDim)
    return "value_dim = " + std::to_string(a.value_dim) + " is above " + std::to_string(kDeltaRuleMaxValueDim) +
           " (a thread per column)";
  if (a.key_heads < 1 || a.heads % a.key_heads != 0) return "heads must be a multiple of key_heads";
  return {};
}

// k_row, q_row [K] = k[b, t, hk, :], q[b, t, hk, :] (q_row may be null), by the whole
// block, which it synchronises before (the rows may still be read) and after.
template <class T>
__device__ void stage_key_rows(const DeltaRuleStep<T>& s, std::int64_t t, T* k_row, T* q_row) {
  __syncthreads();
  const std::int64_t at = s.qk(t);
  for (std::int64_t i = threadIdx.x; i < s.a.key_dim; i += blockDim.x) {
    k_row[i] = s.a.k[at + i];
    if (q_row) q_row[i] = s.a.q[at + i];
  }
  __syncthreads();
}

// One step of column S[:, v] (the first K of kMax, unrolled so S stays in registers):
// S = decay S, then the delta rule with value `value` and rate `beta`.
template <class T, int kMax>
__device__ void delta_rule_advance(T* S, T decay, T beta, T value, const T* k_row, std::int64_t K) {
  T predicted = T(0);
#pragma unroll
  for (int i = 0; i < kMax; ++i)
    if (i < K) {
      S[i] *= decay;
      predicted += S[i] * k_row[i];
    }
  const T delta = beta * (value - predicted);
#pragma unroll
  for (int i = 0; i < kMax; ++i)
    if (i < K) S[i] += k_row[i] * delta;
}

}  // namespace strata::kernels::cuda
