#include <cstdint>

#include "kernels/cuda/gated_delta_rule_common.cuh"

namespace strata::kernels::cuda {

std::int64_t gated_delta_rule_checkpoints_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                               std::int64_t key_dim, std::int64_t value_dim) {
  return batch * heads * ceil_div(seq_len, kDeltaRuleCheckpointSteps) * key_dim * value_dim;
}

namespace {

// One block per (b, h) (a grid-stride loop over B * H), blockDim.x >= V: thread v keeps
// column v of the state, S[0 .. K), v], in registers. The state entering every 64th step
// is saved (column by column: [K, V] row-major) when chunk_states is set.
template <class T, int kMax>
__global__ void __launch_bounds__(kDeltaRuleMaxThreads) gated_delta_rule_fwd_kernel(const GatedDeltaRuleArgs<T> a) {
  __shared__ T k_row[kMax];
  __shared__ T q_row[kMax];
  const std::int64_t K = a.key_dim, V = a.value_dim, H = a.heads, T_ = a.seq_len;
  const std::int64_t checkpoints = ceil_div(T_, kDeltaRuleCheckpointSteps);
  const std::int64_t v = threadIdx.x;
  const bool owner = v < V;
  for (std::int64_t bh = blockIdx.x; bh < a.batch * H; bh += gridDim.x) {
    const DeltaRuleStep<T> s{a, bh / H, bh % H, (bh % H) / (H / a.key_heads)};
    T S[kMax];
#pragma unroll
    for (int i = 0; i < kMax; ++i)
      S[i] = owner && i < K && a.initial_state ? a.initial_state[(bh * K + i) * V + v] : T(0);
    for (std::int64_t t = 0; t < T_; ++t) {
      if (owner && a.chunk_states && t % kDeltaRuleCheckpointSteps == 0) {
        T* saved = a.chunk_states + (bh * checkpoints + t / kDeltaRuleCheckpointSteps) * K * V + v;
#pragma unroll
        for (int i = 0; i < kMax; ++i)
          if (i < K) saved[i * V] = S[i];
      }
      stage_key_rows(s, t, k_row, q_row);
      if (owner) {
        const std::int64_t vi = s.vo(t, v);
        delta_rule_advance<T, kMax>(S, s.decay(t), a.beta[s.bth(t)], a.v[vi], k_row, K);
        T o = T(0);
#pragma unroll
        for (int i = 0; i < kMax; ++i)
          if (i < K) o += S[i] * q_row[i];
        a.o[vi] = a.scale * o;
      }
    }
    if (owner) {
#pragma unroll
      for (int i = 0; i < kMax; ++i)
        if (i < K) a.final_state[(bh * K + i) * V + v] = S[i];
    }
  }
}

template <class T, int kMax>
std::string launch(const GatedDeltaRuleArgs<T>& a) {
  const int threads = warp_multiple(a.value_dim);
  gated_delta_rule_fwd_kernel<T, kMax><<<blocks_for(a.batch * a.heads, 1), threads>>>(a);
  return launch_status();
}

}  // namespace

template <class T>
std::string gated_delta_rule_fwd_cuda(const GatedDeltaRuleArgs<T>& a, int device) {
  if (auto e = delta_rule_unsupported(a); !e.empty()) return e;
  if (a.batch * a.heads == 0 || a.value_dim == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  return with_state_bound<T>(a.key_dim, [&](auto bound) { return launch<T, decltype(bound)::value>(a); });
}

template std::string gated_delta_rule_fwd_cuda<float>(const GatedDeltaRuleArgs<float>&, int);
template std::string gated_delta_rule_fwd_cuda<double>(const GatedDeltaRuleArgs<double>&, int);

}  // namespace strata::kernels::cuda
