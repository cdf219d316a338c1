#include <cstdint>

#include "kernels/cuda/head_group_sums.cuh"
#include "kernels/cuda/ssd_common.cuh"

namespace strata::kernels::cuda {

std::int64_t ssd_bwd_workspace_elements(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                        std::int64_t d_state) {
  return 2 * batch * heads * seq_len * d_state + batch * heads;
}

namespace {

constexpr int kSubSteps = 8;                                   // steps between recomputed states
constexpr int kSubChunks = int(kSsdCheckpointSteps) / kSubSteps;  // of them per saved state

// The adjoint recurrence of block (b, h), last step first. Thread p < P carries row p of
// G = dL/dS_t in registers; threads n < N sum over the rows for dB and dC. Per 64-step
// chunk (from its saved state), the states entering every 8th step are recomputed; per
// 8 steps, the states of each step; so the states S_{t-1}, S_t of each step are at hand
// without storing [T, P, N]. Shared memory: rows [P * N] (the per-row terms summed over
// p), b_row and c_row [N], and two per-row scalars [P].
//   G_t   = carry + dy_t[p] C_t           (carry: decay_{t+1} G_{t+1}, or dfinal_state)
//   dC_t  = sum_p S_t[p, :] dy_t[p]       dB_t = sum_p dt_t x_t[p] G_t[p, :]
//   dx_t  = dt_t (G_t . B_t)              ddt_t = sum_p x_t[p] (G_t . B_t) + g_t A
//   g_t   = decay_t sum_p G_t . S_{t-1}   (the decay's gradient; 0 where a document starts)
//   dA   += g_t dt_t                      carry = decay_t G_t (0 where a document starts)
template <class T, int kMax>
__global__ void ssd_bwd_kernel(const SsdArgs<T> a) {
  extern __shared__ __align__(16) unsigned char ssd_shared[];
  const std::int64_t P = a.head_dim, N = a.d_state, H = a.heads, T_ = a.seq_len;
  T* rows = reinterpret_cast<T*>(ssd_shared);  // [P, N]
  T* b_row = rows + P * N;                      // [N]
  T* c_row = b_row + N;                         // [N]
  T* per_row = c_row + N;                       // [2, P]: G . S_{t-1}, x (G . B)
  const std::int64_t checkpoints = ceil_div(T_, kSsdCheckpointSteps);
  const std::int64_t p = threadIdx.x;
  const bool owner = p < P;
  T* ws_dB = a.workspace;              // [B, H, T, N]
  T* ws_dC = ws_dB + a.batch * H * T_ * N;  // [B, H, T, N]
  T* ws_dA = ws_dC + a.batch * H * T_ * N;  // [B, H]
  for (std::int64_t bh = blockIdx.x; bh < a.batch * H; bh += gridDim.x) {
    const SsdStep<T> s{a, bh / H, bh % H, (bh % H) / (H / a.groups)};
    T carry[kMax];
#pragma unroll
    for (int n = 0; n < kMax; ++n)
      carry[n] = owner && n < N && a.dfinal_state ? a.dfinal_state[(bh * P + p) * N + n] : T(0);
    T dA = T(0);  // thread 0's sum over the steps
    T sub[kSubChunks][kMax];  // the states entering every 8th step of the chunk
    T steps[kSubSteps][kMax];  // S_t of each step of the 8
    for (std::int64_t c = checkpoints - 1; c >= 0; --c) {
      const std::int64_t t0 = c * kSsdCheckpointSteps;
      const std::int64_t t1 = t0 + kSsdCheckpointSteps < T_ ? t0 + kSsdCheckpointSteps : T_;
      T S[kMax];
      const T* saved = a.chunk_states + ((bh * checkpoints + c) * P + (owner ? p : 0)) * N;
#pragma unroll
      for (int n = 0; n < kMax; ++n) S[n] = owner && n < N ? saved[n] : T(0);
      for (std::int64_t t = t0; t < t1; ++t) {
        if ((t - t0) % kSubSteps == 0) {
#pragma unroll
          for (int n = 0; n < kMax; ++n) sub[(t - t0) / kSubSteps][n] = S[n];
        }
        stage_rows<T>(s, t, b_row, nullptr);
        if (owner) ssd_advance<T, kMax>(S, s.decay(t), s.dt(t) * a.x[s.xy(t, p)], b_row, N);
      }
      for (std::int64_t sc = (t1 - t0 - 1) / kSubSteps; sc >= 0; --sc) {
        const std::int64_t u0 = t0 + sc * kSubSteps, u1 = u0 + kSubSteps < t1 ? u0 + kSubSteps : t1;
#pragma unroll
        for (int n = 0; n < kMax; ++n) S[n] = sub[sc][n];
        for (std::int64_t t = u0; t < u1; ++t) {
          stage_rows<T>(s, t, b_row, nullptr);
          if (owner) ssd_advance<T, kMax>(S, s.decay(t), s.dt(t) * a.x[s.xy(t, p)], b_row, N);
#pragma unroll
          for (int n = 0; n < kMax; ++n) steps[t - u0][n] = S[n];
        }
        for (std::int64_t t = u1 - 1; t >= u0; --t) {
          stage_rows(s, t, b_row, c_row);
          const T* prev = t == u0 ? sub[sc] : steps[t - u0 - 1];
          const T* cur = steps[t - u0];
          const T dt = s.dt(t), decay = s.decay(t);
          T x = T(0);
          if (owner) {
            const std::int64_t xi = s.xy(t, p);
            const T dy = a.dy[xi];
            x = a.x[xi];
            T g_prev = T(0), g_b = T(0);
#pragma unroll
            for (int n = 0; n < kMax; ++n) {
              if (n < N) {
                carry[n] += dy * c_row[n];  // now G_t
                rows[p * N + n] = cur[n] * dy;
                g_prev += carry[n] * prev[n];
                g_b += carry[n] * b_row[n];
              }
            }
            a.dx[xi] = dt * g_b;
            per_row[p] = g_prev;
            per_row[P + p] = x * g_b;
          }
          __syncthreads();
          const std::int64_t wt = (bh * T_ + t) * N;
          block_column_sums(rows, P, N, ws_dC + wt);
          __syncthreads();
          if (owner) {
            const T u = dt * x;
#pragma unroll
            for (int n = 0; n < kMax; ++n)
              if (n < N) rows[p * N + n] = u * carry[n];
          }
          __syncthreads();
          block_column_sums(rows, P, N, ws_dB + wt);
          if (threadIdx.x == 0) {
            T g_decay = T(0), input = T(0);
            for (std::int64_t q = 0; q < P; ++q) {
              g_decay += per_row[q];
              input += per_row[P + q];
            }
            g_decay *= decay;  // 0 where a document starts: the state did not flow on
            a.ddt[(s.b * T_ + t) * H + s.h] = input + g_decay * a.A[s.h];
            dA += g_decay * dt;
          }
          if (owner) {
#pragma unroll
            for (int n = 0; n < kMax; ++n) carry[n] *= decay;
          }
        }
      }
    }
    if (owner && a.dinitial_state) {
#pragma unroll
      for (int n = 0; n < kMax; ++n)
        if (n < N) a.dinitial_state[(bh * P + p) * N + n] = carry[n];
    }
    if (threadIdx.x == 0) ws_dA[bh] = dA;
    __syncthreads();  // rows and per_row are rewritten for the next (b, h)
  }
}

// dA [H]: the per-(batch, head) sums over the batch, in order.
template <class T>
__global__ void ssd_bwd_dA_kernel(const SsdArgs<T> a) {
  const T* ws_dA = a.workspace + 2 * a.batch * a.heads * a.seq_len * a.d_state;
  for (std::int64_t h = global_index(); h < a.heads; h += grid_size()) {
    T sum = T(0);
    for (std::int64_t b = 0; b < a.batch; ++b) sum += ws_dA[b * a.heads + h];
    a.dA[h] = sum;
  }
}

template <class T, int kMax>
std::string launch(const SsdArgs<T>& a) {
  const std::int64_t width = a.head_dim > a.d_state ? a.head_dim : a.d_state;
  const int threads = warp_multiple(width);
  const std::size_t bytes = std::size_t(a.head_dim * a.d_state + 2 * a.d_state + 2 * a.head_dim) * sizeof(T);
  if (auto e = allow_shared_memory(ssd_bwd_kernel<T, kMax>, bytes); !e.empty()) return e;
  ssd_bwd_kernel<T, kMax><<<blocks_for(a.batch * a.heads, 1), threads, bytes>>>(a);
  if (auto e = launch_status(); !e.empty()) return e;
  const std::int64_t group_terms = a.batch * a.seq_len * a.groups * a.d_state;
  if ((a.dB || a.dC) && group_terms > 0) {  // dB, dC [B, T, G, N]
    const T* ws_dB = a.workspace;
    const T* ws_dC = ws_dB + a.batch * a.heads * a.seq_len * a.d_state;
    head_group_sums_kernel<T><<<blocks_for(group_terms), kThreads>>>(ws_dB, ws_dC, a.batch, a.heads, a.seq_len,
                                                                     a.groups, a.d_state, a.dB, a.dC);
  }
  if (a.dA) ssd_bwd_dA_kernel<T><<<blocks_for(a.heads), kThreads>>>(a);
  return launch_status();
}

}  // namespace

template <class T>
std::string ssd_bwd_cuda(const SsdArgs<T>& a, int device) {
  if (auto e = ssd_unsupported(a); !e.empty()) return e;
  if (a.seq_len > 0 && (!a.chunk_states || !a.workspace))
    return "ssd_bwd_cuda needs the forward's chunk_states and a workspace";
  if (a.batch * a.heads == 0 || a.head_dim == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  return with_state_bound<T>(a.d_state, [&](auto bound) { return launch<T, decltype(bound)::value>(a); });
}

template std::string ssd_bwd_cuda<float>(const SsdArgs<float>&, int);
template std::string ssd_bwd_cuda<double>(const SsdArgs<double>&, int);

}  // namespace strata::kernels::cuda
