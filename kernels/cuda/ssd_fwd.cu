#include <cstdint>

#include "kernels/cuda/ssd_common.cuh"

namespace strata::kernels::cuda {

std::int64_t ssd_checkpoints_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t head_dim,
                                  std::int64_t d_state) {
  return batch * heads * ceil_div(seq_len, kSsdCheckpointSteps) * head_dim * d_state;
}

namespace {

// One block per (b, h) (a grid-stride loop over B * H), blockDim.x >= P threads: thread p
// owns row p of the state, S[p, 0 .. N), in registers (kMax >= N, unrolled, so the array
// stays in registers). Per step, the group's B and C rows are staged in shared memory.
// With chunk_states, the state entering every 64th step is saved for the backward.
template <class T, int kMax>
__global__ void ssd_fwd_kernel(const SsdArgs<T> a) {
  __shared__ T b_row[kMax];
  __shared__ T c_row[kMax];
  const std::int64_t P = a.head_dim, N = a.d_state, H = a.heads, T_ = a.seq_len;
  const std::int64_t checkpoints = ceil_div(T_, kSsdCheckpointSteps);
  const std::int64_t p = threadIdx.x;
  const bool owner = p < P;
  for (std::int64_t bh = blockIdx.x; bh < a.batch * H; bh += gridDim.x) {
    const SsdStep<T> s{a, bh / H, bh % H, (bh % H) / (H / a.groups)};
    T S[kMax];
#pragma unroll
    for (int n = 0; n < kMax; ++n)
      S[n] = owner && n < N && a.initial_state ? a.initial_state[(bh * P + p) * N + n] : T(0);
    for (std::int64_t t = 0; t < T_; ++t) {
      if (owner && a.chunk_states && t % kSsdCheckpointSteps == 0) {
        T* saved = a.chunk_states + ((bh * checkpoints + t / kSsdCheckpointSteps) * P + p) * N;
#pragma unroll
        for (int n = 0; n < kMax; ++n)
          if (n < N) saved[n] = S[n];
      }
      stage_rows(s, t, b_row, c_row);
      if (owner) {
        const std::int64_t xi = s.xy(t, p);
        ssd_advance<T, kMax>(S, s.decay(t), s.dt(t) * a.x[xi], b_row, N);
        T y = T(0);
#pragma unroll
        for (int n = 0; n < kMax; ++n)
          if (n < N) y += S[n] * c_row[n];
        a.y[xi] = y;
      }
    }
    if (owner) {
#pragma unroll
      for (int n = 0; n < kMax; ++n)
        if (n < N) a.final_state[(bh * P + p) * N + n] = S[n];
    }
  }
}

template <class T, int kMax>
std::string launch(const SsdArgs<T>& a) {
  const int threads = warp_multiple(a.head_dim);
  ssd_fwd_kernel<T, kMax><<<blocks_for(a.batch * a.heads, 1), threads>>>(a);
  return launch_status();
}

}  // namespace

template <class T>
std::string ssd_fwd_cuda(const SsdArgs<T>& a, int device) {
  if (auto e = ssd_unsupported(a); !e.empty()) return e;
  if (a.batch * a.heads == 0 || a.head_dim == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  return with_state_bound<T>(a.d_state, [&](auto bound) { return launch<T, decltype(bound)::value>(a); });
}

template std::string ssd_fwd_cuda<float>(const SsdArgs<float>&, int);
template std::string ssd_fwd_cuda<double>(const SsdArgs<double>&, int);

}  // namespace strata::kernels::cuda
