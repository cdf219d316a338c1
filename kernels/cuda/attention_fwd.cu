// Flash attention forward on a CUDA device (twin of attention_fwd_cpu): one block per
// (batch, query head, tile of Br query rows) runs over the key tiles its rows see, with an
// online softmax (running max and sum per row) and the unnormalised output in registers.
#include "kernels/cuda/attention.cuh"

namespace strata::kernels::cuda {

namespace {

using namespace attention_detail;

// Dynamic shared memory of attention_fwd_kernel<T, kD> for head_dim d (the kernel carves
// the same arrays in the same order).
template <class T, int kD>
std::size_t forward_shared_bytes(int d) {
  using Tiles = ForwardTiles<T, kD>;
  const std::size_t ld = std::size_t(tile_stride(d));
  return padded_bytes(Tiles::rows * ld * sizeof(T)) + padded_bytes(Tiles::cols * ld * sizeof(T)) +
         padded_bytes(std::size_t(Tiles::rows) * (Tiles::cols + 1) * sizeof(T));
}

// out: [B, T, Hq, d], lse: [B, Hq, T]. Thread (row, lane) owns query row i0 + row of the
// tile: its running max and sum (the same in each of its tpr lanes), the scores of keys
// lane + tpr m of each key tile, and the output columns lane + tpr k.
template <class T, int kD>
__global__ void __launch_bounds__(kAttentionThreads, 1) attention_fwd_kernel(const AttentionArgs<T> a) {
  constexpr int Br = ForwardTiles<T, kD>::rows, Bc = ForwardTiles<T, kD>::cols;
  constexpr int tpr = kAttentionThreads / Br;  // threads per query row
  constexpr int kCols = kD / tpr, kKeys = Bc / tpr;
  static_assert(tpr <= kWarp && kWarp % tpr == 0 && Bc % tpr == 0 && kD % tpr == 0);

  extern __shared__ __align__(16) unsigned char attention_shared[];
  const int d = int(a.head_dim), ld = tile_stride(d);
  SharedCarver carve{attention_shared};
  T* q_s = carve.take<T>(Br * ld);          // [Br, ld] the query tile
  T* kv_s = carve.take<T>(Bc * ld);         // [Bc, ld] K of the key tile, then its V
  T* p_s = carve.take<T>(Br * (Bc + 1));    // [Br, Bc + 1] probabilities of the key tile

  const int row = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  const std::int64_t q_len = a.q_len, H = a.n_heads, group = a.n_heads / a.n_kv_heads;
  const std::int64_t tiles = (q_len + Br - 1) / Br, items = a.batch * H * tiles;
  for (std::int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const std::int64_t b = item / (H * tiles), h = item / tiles % H, kv_h = h / group;
    // Last tiles first: under causal masking they see the most keys.
    const std::int64_t i0 = (tiles - 1 - item % tiles) * Br;
    const int rows = int(min(std::int64_t(Br), q_len - i0));
    const std::int64_t i = i0 + row;
    const KeyRange mine = row < rows ? visible_keys(a, b, i) : KeyRange{0, 0};
    const KeyRange keys = tile_keys(a, b, i0, i0 + rows);

    __syncthreads();  // the previous item's reads of q_s are done
    load_tile(q_s, ld, a.q + b * a.q_stride_b + i0 * a.q_stride_t + h * d, a.q_stride_t, rows, Br, d);
    const T* k = a.k + b * a.k_stride_b + kv_h * d;
    const T* v = a.v + b * a.v_stride_b + kv_h * d;

    T acc[kCols];  // unnormalised output columns lane + tpr c
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[c] = T(0);
    T row_max = neg_inf<T>(), row_sum = T(0);

    for (std::int64_t j0 = keys.begin; j0 < keys.end; j0 += Bc) {
      const int cols = int(min(std::int64_t(Bc), keys.end - j0));
      if (a.seq_start && !rows_see_keys(a, b, i0, i0 + rows, j0, j0 + cols)) continue;  // same in every thread
      __syncthreads();  // the previous tile's reads of kv_s (V) and p_s are done
      load_tile(kv_s, ld, k + j0 * a.k_stride_t, a.k_stride_t, cols, Bc, d);
      __syncthreads();

      // s = scale * q_i . k_j for j = j0 + lane + tpr m; -inf where row i does not see j.
      T s[kKeys];
#pragma unroll
      for (int m = 0; m < kKeys; ++m) s[m] = T(0);
      for (int c = 0; c < d; ++c) {
        const T qc = q_s[row * ld + c];
#pragma unroll
        for (int m = 0; m < kKeys; ++m) s[m] += qc * kv_s[(lane + tpr * m) * ld + c];
      }
      T tile_max = neg_inf<T>();
#pragma unroll
      for (int m = 0; m < kKeys; ++m) {
        const int jj = lane + tpr * m;
        const std::int64_t j = j0 + jj;
        s[m] = jj < cols && j >= mine.begin && j < mine.end ? a.scale * s[m] : neg_inf<T>();
        tile_max = s[m] > tile_max ? s[m] : tile_max;
      }
      tile_max = group_max<tpr>(tile_max);

      // Online softmax: rescale the running sum and output to the new max.
      const T new_max = tile_max > row_max ? tile_max : row_max;
      T tile_sum = T(0);
      if (new_max == neg_inf<T>()) {  // nothing visible yet: contributes nothing
#pragma unroll
        for (int m = 0; m < kKeys; ++m) s[m] = T(0);
      } else {
#pragma unroll
        for (int m = 0; m < kKeys; ++m) {
          s[m] = exp_of(s[m] - new_max);
          tile_sum += s[m];
        }
      }
      tile_sum = group_sum<tpr>(tile_sum);
      if (new_max != neg_inf<T>()) {
        const T correction = exp_of(row_max - new_max);  // 0 for the first visible tile
        row_sum = row_sum * correction + tile_sum;
        row_max = new_max;
#pragma unroll
        for (int c = 0; c < kCols; ++c) acc[c] *= correction;
      }
#pragma unroll
      for (int m = 0; m < kKeys; ++m) p_s[row * (Bc + 1) + lane + tpr * m] = s[m];

      __syncthreads();  // every thread is done with K; p_s is written
      load_tile(kv_s, ld, v + j0 * a.v_stride_t, a.v_stride_t, cols, Bc, d);
      __syncthreads();

      // acc += P V_j
      for (int jj = 0; jj < cols; ++jj) {
        const T p = p_s[row * (Bc + 1) + jj];
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          const int col = lane + tpr * c;
          if (col < d) acc[c] += p * kv_s[jj * ld + col];
        }
      }
    }

    if (row < rows) {
      const T inv = row_sum > T(0) ? T(1) / row_sum : T(0);
      T* o = a.out + ((b * q_len + i) * H + h) * d;
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int col = lane + tpr * c;
        if (col < d) o[col] = acc[c] * inv;
      }
      if (a.lse && lane == 0)
        a.lse[(b * H + h) * q_len + i] = row_sum > T(0) ? row_max + log_of(row_sum) : neg_inf<T>();
    }
  }
}

template <class T, int kD>
std::string launch_forward(const AttentionArgs<T>& a) {
  const std::size_t bytes = forward_shared_bytes<T, kD>(int(a.head_dim));
  if (auto e = allow_shared_memory(attention_fwd_kernel<T, kD>, bytes); !e.empty()) return e;
  constexpr int Br = ForwardTiles<T, kD>::rows;
  const std::int64_t items = a.batch * a.n_heads * ((a.q_len + Br - 1) / Br);
  attention_fwd_kernel<T, kD><<<row_blocks(items), kAttentionThreads, bytes>>>(a);
  return launch_status();
}

}  // namespace

template <class T>
std::string attention_fwd_cuda(const AttentionArgs<T>& a, int device) {
  if (auto e = check_heads(a); !e.empty()) return e;
  if (a.batch == 0 || a.n_heads == 0 || a.q_len == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  return with_head_dim_bound(a.head_dim, [&](auto bound) { return launch_forward<T, decltype(bound)::value>(a); });
}

template std::string attention_fwd_cuda<float>(const AttentionArgs<float>&, int);
template std::string attention_fwd_cuda<double>(const AttentionArgs<double>&, int);

}  // namespace strata::kernels::cuda
