#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/ssd.h"

namespace strata::kernels::cuda {

namespace {

// One block per (b, h) (a grid-stride loop over B * H), blockDim.x >= P threads: thread p
// owns row p of the state, S[p, 0 .. N), in registers (kMax >= N, unrolled, so the array
// stays in registers). Per step, the group's B and C rows are staged in shared memory.
template <class T, int kMax>
__global__ void ssd_fwd_kernel(const SsdArgs<T> a) {
  __shared__ T b_row[kMax];
  __shared__ T c_row[kMax];
  const std::int64_t P = a.head_dim, N = a.d_state, H = a.heads, T_ = a.seq_len;
  const std::int64_t per_group = H / a.groups;
  const std::int64_t p = threadIdx.x;
  const bool owner = p < P;
  for (std::int64_t bh = blockIdx.x; bh < a.batch * H; bh += gridDim.x) {
    const std::int64_t b = bh / H, h = bh % H, g = h / per_group;
    T S[kMax];
#pragma unroll
    for (int n = 0; n < kMax; ++n)
      S[n] = owner && n < N && a.initial_state ? a.initial_state[(bh * P + p) * N + n] : T(0);
    const T A = a.A[h];
    for (std::int64_t t = 0; t < T_; ++t) {
      const std::int64_t bg = ((b * T_ + t) * a.groups + g) * N;  // B, C: [B, T, G, N]
      for (std::int64_t n = threadIdx.x; n < N; n += blockDim.x) {
        b_row[n] = a.B[bg + n];
        c_row[n] = a.C[bg + n];
      }
      __syncthreads();
      if (owner) {
        const T dt = a.dt[(b * T_ + t) * H + h];
        // a packed document that starts here begins from a zero state
        const bool fresh = a.seq_start && t > 0 && a.seq_start[b * T_ + t] == t;
        const T decay = fresh ? T(0) : exp(dt * A);
        const std::int64_t xi = ((b * T_ + t) * H + h) * P + p;  // x, y: [B, T, H, P]
        const T u = dt * a.x[xi];
        T y = T(0);
#pragma unroll
        for (int n = 0; n < kMax; ++n) {
          if (n < N) {
            S[n] = decay * S[n] + u * b_row[n];
            y += S[n] * c_row[n];
          }
        }
        a.y[xi] = y;
      }
      __syncthreads();  // b_row / c_row are rewritten by the next step
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
  const int threads = int((a.head_dim + kWarp - 1) / kWarp * kWarp);
  ssd_fwd_kernel<T, kMax><<<blocks_for(a.batch * a.heads, 1), threads>>>(a);
  return launch_status();
}

}  // namespace

template <class T>
std::string ssd_fwd_cuda(const SsdArgs<T>& a, int device) {
  if (a.d_state > kSsdMaxState)
    return "d_state = " + std::to_string(a.d_state) + " is above the CUDA SSD kernel's " + std::to_string(kSsdMaxState);
  if (a.head_dim > 1024) return "head_dim = " + std::to_string(a.head_dim) + " is above 1024 (one thread per row)";
  if (a.groups < 1 || a.heads % a.groups != 0) return "heads must be a multiple of groups";
  if (a.batch * a.heads == 0 || a.head_dim == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  if constexpr (sizeof(T) == 4) {  // f32: the smallest register array that holds the state
    if (a.d_state <= 32) return launch<T, 32>(a);
    if (a.d_state <= 64) return launch<T, 64>(a);
  }
  return launch<T, 128>(a);
}

template std::string ssd_fwd_cuda<float>(const SsdArgs<float>&, int);
template std::string ssd_fwd_cuda<double>(const SsdArgs<double>&, int);

}  // namespace strata::kernels::cuda
