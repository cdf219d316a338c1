#include <cstdint>

#include "kernels/cuda/gated_delta_rule_common.cuh"
#include "kernels/cuda/head_group_sums.cuh"

namespace strata::kernels::cuda {

namespace {

constexpr int kSubSteps = 8;                                             // steps between recomputed states
constexpr int kSubChunks = int(kDeltaRuleCheckpointSteps) / kSubSteps;  // of them per saved state

}  // namespace

std::int64_t gated_delta_rule_bwd_workspace_elements(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                                     std::int64_t key_dim, std::int64_t value_dim) {
  return 2 * batch * heads * seq_len * key_dim + batch * heads * (kSubChunks + kSubSteps) * key_dim * value_dim;
}

namespace {

// The adjoint recurrence of block (b, h), last step first. Thread v < V carries column v of
// G = dL/dS_t in registers; threads i < K sum over the columns for dq and dk. Per 64-step
// chunk (from its saved state) the states entering every 8th step are recomputed, per 8
// steps the state entering each step. Shared memory: cols [V, K] (the per-column terms
// summed over v), k_row and q_row [K], two per-column scalars [2, V]. With P = S_{t-1}[:, v],
// S' = e P (e = exp(g_t)), p = S' . k, d = beta (v_t - p), S_t = S' + k d:
//   G     = carry + scale do_t[v] q        dq += scale do_t[v] S_t
//   dd    = G . k                          dv_t[v] = beta dd
//   dp    = -beta dd                       dk += G d + dp S'
//   dbeta += dd (v_t - p)                  dS' = G + dp k
//   dg    = e sum_v dS' . P                carry = e dS'   (e = 0 where a document starts)
template <class T, int kMax>
__global__ void __launch_bounds__(kDeltaRuleMaxThreads) gated_delta_rule_bwd_kernel(const GatedDeltaRuleArgs<T> a) {
  extern __shared__ __align__(16) unsigned char delta_rule_shared[];
  const std::int64_t K = a.key_dim, V = a.value_dim, H = a.heads, T_ = a.seq_len;
  // [V, K] with rows K + 1 apart: thread v writes row v, so an odd stride puts a warp's
  // writes of one column in 32 different banks (K apart, a multiple of 32, they would all
  // hit one)
  const std::int64_t ld = K + 1;
  T* cols = reinterpret_cast<T*>(delta_rule_shared);
  T* k_row = cols + V * ld;                            // [K]
  T* q_row = k_row + K;                                // [K]
  T* per_col = q_row + K;                              // [2, V]: dd (v_t - p), dS' . P
  const std::int64_t checkpoints = ceil_div(T_, kDeltaRuleCheckpointSteps);
  const std::int64_t v = threadIdx.x;
  const bool owner = v < V;
  T* ws_dq = a.workspace;                   // [B, H, T, K]
  T* ws_dk = ws_dq + a.batch * H * T_ * K;  // [B, H, T, K]
  // [B, H, kSubChunks + kSubSteps, K, V]: per (b, h), the states entering every 8th step of
  // the chunk, then those entering each step of the 8 (global memory, each thread its own
  // column: an array in registers indexed at run time would be local memory reserved for
  // every thread the GPU can hold, not only for the threads launched).
  T* ws_states = ws_dk + a.batch * H * T_ * K;
  for (std::int64_t bh = blockIdx.x; bh < a.batch * H; bh += gridDim.x) {
    const DeltaRuleStep<T> s{a, bh / H, bh % H, (bh % H) / (H / a.key_heads)};
    T carry[kMax];
#pragma unroll
    for (int i = 0; i < kMax; ++i)
      carry[i] = owner && i < K && a.dfinal_state ? a.dfinal_state[(bh * K + i) * V + v] : T(0);
    T* sub = ws_states + bh * (kSubChunks + kSubSteps) * K * V + (owner ? v : 0);  // [kSubChunks, K, V] at column v
    T* steps = sub + kSubChunks * K * V;                                           // [kSubSteps, K, V] at column v
    for (std::int64_t c = checkpoints - 1; c >= 0; --c) {
      const std::int64_t t0 = c * kDeltaRuleCheckpointSteps;
      const std::int64_t t1 = t0 + kDeltaRuleCheckpointSteps < T_ ? t0 + kDeltaRuleCheckpointSteps : T_;
      T S[kMax];
      const T* saved = a.chunk_states + (bh * checkpoints + c) * K * V + (owner ? v : 0);
#pragma unroll
      for (int i = 0; i < kMax; ++i) S[i] = owner && i < K ? saved[i * V] : T(0);
      for (std::int64_t t = t0; t < t1; ++t) {
        if (owner && (t - t0) % kSubSteps == 0) {
          T* sub_state = sub + (t - t0) / kSubSteps * K * V;
#pragma unroll
          for (int i = 0; i < kMax; ++i)
            if (i < K) sub_state[i * V] = S[i];
        }
        stage_key_rows<T>(s, t, k_row, nullptr);
        if (owner) delta_rule_advance<T, kMax>(S, s.decay(t), a.beta[s.bth(t)], a.v[s.vo(t, v)], k_row, K);
      }
      for (std::int64_t sc = (t1 - t0 - 1) / kSubSteps; sc >= 0; --sc) {
        const std::int64_t u0 = t0 + sc * kSubSteps, u1 = u0 + kSubSteps < t1 ? u0 + kSubSteps : t1;
#pragma unroll
        for (int i = 0; i < kMax; ++i) S[i] = owner && i < K ? sub[sc * K * V + i * V] : T(0);
        for (std::int64_t t = u0; t < u1; ++t) {
          if (owner) {
            T* step_state = steps + (t - u0) * K * V;
#pragma unroll
            for (int i = 0; i < kMax; ++i)
              if (i < K) step_state[i * V] = S[i];
          }
          stage_key_rows<T>(s, t, k_row, nullptr);
          if (owner) delta_rule_advance<T, kMax>(S, s.decay(t), a.beta[s.bth(t)], a.v[s.vo(t, v)], k_row, K);
        }
        for (std::int64_t t = u1 - 1; t >= u0; --t) {
          stage_key_rows(s, t, k_row, q_row);
          const T* P = steps + (t - u0) * K * V;  // the state entering step t: P[i * V], owners only
          const T e = s.decay(t), beta = a.beta[s.bth(t)];
          T d = T(0), dp = T(0);
          if (owner) {
            const std::int64_t vi = s.vo(t, v);
            const T value = a.v[vi], g_out = a.scale * a.dout[vi];
            T p = T(0);
#pragma unroll
            for (int i = 0; i < kMax; ++i)
              if (i < K) p += e * P[i * V] * k_row[i];
            d = beta * (value - p);
            T dd = T(0);
#pragma unroll
            for (int i = 0; i < kMax; ++i) {
              if (i < K) {
                carry[i] += g_out * q_row[i];                              // G
                cols[v * ld + i] = g_out * (e * P[i * V] + k_row[i] * d);  // dq's term: scale do S_t
                dd += carry[i] * k_row[i];
              }
            }
            dp = -beta * dd;
            a.dv[vi] = beta * dd;
            per_col[v] = dd * (value - p);
          }
          __syncthreads();
          const std::int64_t wt = (bh * T_ + t) * K;
          block_column_sums(cols, V, K, ld, ws_dq + wt);
          __syncthreads();
          if (owner) {
            T dg = T(0);
#pragma unroll
            for (int i = 0; i < kMax; ++i) {
              if (i < K) {
                cols[v * ld + i] = carry[i] * d + dp * e * P[i * V];  // dk's term
                carry[i] += dp * k_row[i];                       // dS'
                dg += carry[i] * P[i * V];
              }
            }
            per_col[V + v] = dg;
          }
          __syncthreads();
          block_column_sums(cols, V, K, ld, ws_dk + wt);
          if (threadIdx.x == 0) {
            T dbeta = T(0), dg = T(0);
            for (std::int64_t w = 0; w < V; ++w) {
              dbeta += per_col[w];
              dg += per_col[V + w];
            }
            a.dbeta[s.bth(t)] = dbeta;
            a.dg[s.bth(t)] = e * dg;  // 0 where a document starts: the state did not flow on
          }
          if (owner) {
#pragma unroll
            for (int i = 0; i < kMax; ++i) carry[i] *= e;
          }
        }
      }
    }
    if (owner && a.dinitial_state) {
#pragma unroll
      for (int i = 0; i < kMax; ++i)
        if (i < K) a.dinitial_state[(bh * K + i) * V + v] = carry[i];
    }
    __syncthreads();  // cols and per_col are rewritten for the next (b, h)
  }
}

template <class T, int kMax>
std::string launch(const GatedDeltaRuleArgs<T>& a) {
  const std::int64_t width = a.value_dim > a.key_dim ? a.value_dim : a.key_dim;
  const int threads = warp_multiple(width);
  const std::size_t bytes = std::size_t(a.value_dim * (a.key_dim + 1) + 2 * a.key_dim + 2 * a.value_dim) * sizeof(T);
  if (auto e = allow_shared_memory(gated_delta_rule_bwd_kernel<T, kMax>, bytes); !e.empty()) return e;
  gated_delta_rule_bwd_kernel<T, kMax><<<blocks_for(a.batch * a.heads, 1), threads, bytes>>>(a);
  if (auto e = launch_status(); !e.empty()) return e;
  const std::int64_t key_terms = a.batch * a.seq_len * a.key_heads * a.key_dim;
  if (key_terms > 0) {  // dq, dk [B, T, Hk, K]
    const T* ws_dq = a.workspace;
    const T* ws_dk = ws_dq + a.batch * a.heads * a.seq_len * a.key_dim;
    head_group_sums_kernel<T><<<blocks_for(key_terms), kThreads>>>(ws_dq, ws_dk, a.batch, a.heads, a.seq_len,
                                                                   a.key_heads, a.key_dim, a.dq, a.dk);
  }
  return launch_status();
}

}  // namespace

template <class T>
std::string gated_delta_rule_bwd_cuda(const GatedDeltaRuleArgs<T>& a, int device) {
  if (auto e = delta_rule_unsupported(a); !e.empty()) return e;
  if (a.seq_len > 0 && (!a.chunk_states || !a.workspace))
    return "gated_delta_rule_bwd_cuda needs the forward's chunk_states and a workspace";
  if (a.batch * a.heads == 0 || a.value_dim == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  return with_state_bound<T>(a.key_dim, [&](auto bound) { return launch<T, decltype(bound)::value>(a); });
}

template std::string gated_delta_rule_bwd_cuda<float>(const GatedDeltaRuleArgs<float>&, int);
template std::string gated_delta_rule_bwd_cuda<double>(const GatedDeltaRuleArgs<double>&, int);

}  // namespace strata::kernels::cuda
