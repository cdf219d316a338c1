// Split-key attention for decoding ("flash-decoding", Dao, Haziza, Massa and Sizov 2023): a
// few query rows against a long KV cache. The tiled forward (attention_fwd.cu) gives each
// (batch, query head, query tile) one block that walks every key, so a decoding step with
// one query row runs B x Hq blocks for the whole cache, most of the GPU idle. Here the keys
// are cut into splits of kDecodeKeys and the query heads of a key/value group share a block
// (16 rows of them read each key once): one block per (split, batch, key/value head, tile of rows)
// keeps an online softmax over its keys and writes its unnormalised output row, running
// max and running sum; a second kernel combines the splits of each row in split order.
// Deterministic (no atomics), and the split size does not depend on the GPU.
#include <cstdint>
#include <string>

#include "kernels/cuda/attention.cuh"

namespace strata::kernels::cuda {

namespace {

using namespace attention_detail;

// Keys per streamed tile: a warp's width, halved for wide rows (shared memory).
template <class T, int kD>
inline constexpr int kDecodeTile = int(sizeof(T)) * kD <= 512 ? 32 : 16;

// Row r of a block's tile of rows: (query head of the group, query row).
struct DecodeRow {
  std::int64_t head, i;
};
__device__ inline DecodeRow decode_row(std::int64_t r, std::int64_t q_len, std::int64_t kv_head, std::int64_t group) {
  return {kv_head * group + r / q_len, r % q_len};
}

// The workspace [B, Hq, T, splits, d + 2]: per row and split, the unnormalised output, the
// running max and the running sum.
template <class T>
__device__ inline T* partial_of(const AttentionArgs<T>& a, T* workspace, std::int64_t splits, std::int64_t b,
                                std::int64_t h, std::int64_t i, std::int64_t split) {
  return workspace + (((b * a.n_heads + h) * a.q_len + i) * splits + split) * (a.head_dim + 2);
}

template <class T, int kD>
std::size_t decode_shared_bytes(int d) {
  constexpr int Bc = kDecodeTile<T, kD>;
  const int ld = tile_stride(d);
  return padded_bytes(std::size_t(kDecodeRows) * ld * sizeof(T)) + padded_bytes(std::size_t(Bc) * ld * sizeof(T)) +
         padded_bytes(std::size_t(kDecodeRows) * (Bc + 1) * sizeof(T)) +
         padded_bytes(std::size_t(kDecodeRows) * sizeof(T)) +
         2 * padded_bytes(std::size_t(kDecodeRows) * sizeof(std::int64_t));
}

// Block (split, item): item = ((b * Hkv + kv_head) * tiles + tile). Thread t computes the
// scores of (row, key) pairs t, t + 128, ...; threads r < rows keep row r's online softmax;
// thread t accumulates output elements t, t + 128, ... of the [rows, d] tile.
template <class T, int kD>
__global__ void __launch_bounds__(kAttentionThreads)
    attention_decode_kernel(const AttentionArgs<T> a, T* workspace, std::int64_t splits) {
  constexpr int Bc = kDecodeTile<T, kD>;
  constexpr int kAcc = kDecodeRows * kD / kAttentionThreads;  // output elements per thread
  extern __shared__ __align__(16) unsigned char attention_shared[];
  const int d = int(a.head_dim), ld = tile_stride(d);
  SharedCarver carve{attention_shared};
  T* q_s = carve.take<T>(kDecodeRows * ld);        // [rows, ld] the query rows
  T* kv_s = carve.take<T>(Bc * ld);                // [Bc, ld] K of the key tile, then its V
  T* p_s = carve.take<T>(kDecodeRows * (Bc + 1));  // [rows, Bc + 1] scores, then probabilities
  T* correction = carve.take<T>(kDecodeRows);      // [rows] rescaling of the output this tile
  std::int64_t* key_begin = carve.take<std::int64_t>(kDecodeRows);
  std::int64_t* key_end = carve.take<std::int64_t>(kDecodeRows);

  const std::int64_t Hkv = a.n_kv_heads, group = a.n_heads / a.n_kv_heads;
  const std::int64_t all_rows = group * a.q_len, tiles = ceil_div(all_rows, kDecodeRows);
  const std::int64_t split = blockIdx.x, first_key = split * kDecodeKeys;
  const std::int64_t last_key = min(a.kv_len, first_key + kDecodeKeys);
  for (std::int64_t item = blockIdx.y; item < a.batch * Hkv * tiles; item += gridDim.y) {
    const std::int64_t b = item / (Hkv * tiles), kv_head = item / tiles % Hkv, r0 = item % tiles * kDecodeRows;
    const int rows = int(min(std::int64_t(kDecodeRows), all_rows - r0));
    __syncthreads();  // the previous item's reads of the shared arrays are done
    for (int e = threadIdx.x; e < kDecodeRows * d; e += blockDim.x) {
      const int r = e / d, c = e % d;
      T value = T(0);
      if (r < rows) {
        const DecodeRow row = decode_row(r0 + r, a.q_len, kv_head, group);
        value = a.q[b * a.q_stride_b + row.i * a.q_stride_t + row.head * d + c];
      }
      q_s[r * ld + c] = value;
    }
    if (threadIdx.x < kDecodeRows) {
      const int r = int(threadIdx.x);
      KeyRange keys{0, 0};
      if (r < rows) keys = visible_keys(a, b, decode_row(r0 + r, a.q_len, kv_head, group).i);
      key_begin[r] = max(keys.begin, first_key);
      key_end[r] = min(keys.end, last_key);
    }
    __syncthreads();
    KeyRange span{last_key, first_key};  // the keys some row of the tile sees, in this split
    for (int r = 0; r < rows; ++r) {
      if (key_begin[r] >= key_end[r]) continue;
      span.begin = min(span.begin, key_begin[r]);
      span.end = max(span.end, key_end[r]);
    }

    T acc[kAcc];
#pragma unroll
    for (int k = 0; k < kAcc; ++k) acc[k] = T(0);
    T row_max = neg_inf<T>(), row_sum = T(0);  // of row threadIdx.x, for threads < rows

    const T* k = a.k + b * a.k_stride_b + kv_head * d;
    const T* v = a.v + b * a.v_stride_b + kv_head * d;
    for (std::int64_t j0 = span.begin; j0 < span.end; j0 += Bc) {
      const int cols = int(min(std::int64_t(Bc), span.end - j0));
      __syncthreads();  // the previous tile's reads of kv_s (V) are done
      load_tile(kv_s, ld, k + j0 * a.k_stride_t, a.k_stride_t, cols, Bc, d);
      __syncthreads();
      // scaled scores, -inf where the row does not see the key
      for (int e = threadIdx.x; e < kDecodeRows * Bc; e += blockDim.x) {
        const int r = e / Bc, jj = e % Bc;
        const std::int64_t j = j0 + jj;
        T s = neg_inf<T>();
        if (r < rows && jj < cols && j >= key_begin[r] && j < key_end[r]) {
          T dot = T(0);
          for (int c = 0; c < d; ++c) dot += q_s[r * ld + c] * kv_s[jj * ld + c];
          s = a.scale * dot;
        }
        p_s[r * (Bc + 1) + jj] = s;
      }
      __syncthreads();  // the scores are written; K is no longer read
      load_tile(kv_s, ld, v + j0 * a.v_stride_t, a.v_stride_t, cols, Bc, d);
      if (threadIdx.x < kDecodeRows) {  // online softmax of row threadIdx.x
        T* p = p_s + threadIdx.x * (Bc + 1);
        T tile_max = neg_inf<T>();
        for (int jj = 0; jj < Bc; ++jj) tile_max = p[jj] > tile_max ? p[jj] : tile_max;
        const T new_max = tile_max > row_max ? tile_max : row_max;
        T scale_old = T(1);
        if (new_max == neg_inf<T>()) {  // nothing visible yet: contributes nothing
          for (int jj = 0; jj < Bc; ++jj) p[jj] = T(0);
        } else {
          T tile_sum = T(0);
          for (int jj = 0; jj < Bc; ++jj) {
            p[jj] = exp_of(p[jj] - new_max);  // exp(-inf) = 0 for masked keys
            tile_sum += p[jj];
          }
          scale_old = exp_of(row_max - new_max);  // 0 for the first visible tile
          row_sum = row_sum * scale_old + tile_sum;
          row_max = new_max;
        }
        correction[threadIdx.x] = scale_old;
      }
      __syncthreads();  // V and the probabilities are in place
                        // acc = correction acc + P V_j
#pragma unroll
      for (int kk = 0; kk < kAcc; ++kk) {
        const int e = int(threadIdx.x) + kAttentionThreads * kk, r = e / d, c = e % d;
        if (r >= rows) continue;
        T sum = acc[kk] * correction[r];
        for (int jj = 0; jj < cols; ++jj) sum += p_s[r * (Bc + 1) + jj] * kv_s[jj * ld + c];
        acc[kk] = sum;
      }
    }

    // This split's part of each row: the unnormalised output, the running max and sum.
#pragma unroll
    for (int kk = 0; kk < kAcc; ++kk) {
      const int e = int(threadIdx.x) + kAttentionThreads * kk, r = e / d, c = e % d;
      if (r >= rows) continue;
      const DecodeRow row = decode_row(r0 + r, a.q_len, kv_head, group);
      partial_of(a, workspace, splits, b, row.head, row.i, split)[c] = acc[kk];
    }
    if (int(threadIdx.x) < rows) {
      const DecodeRow row = decode_row(r0 + threadIdx.x, a.q_len, kv_head, group);
      T* part = partial_of(a, workspace, splits, b, row.head, row.i, split);
      part[d] = row_max;
      part[d + 1] = row_sum;
    }
  }
}

// out [B, T, Hq, d] and lse [B, Hq, T] from the splits' parts, in split order: with M the
// largest running max, out = sum_s e^(m_s - M) o_s / sum_s e^(m_s - M) l_s. A row that sees
// no key gets 0 and -inf, as from the tiled forward.
template <class T>
__global__ void attention_decode_combine_kernel(const AttentionArgs<T> a, const T* workspace, std::int64_t splits) {
  const std::int64_t d = a.head_dim, H = a.n_heads;
  for (std::int64_t e = global_index(); e < a.batch * a.q_len * H * d; e += grid_size()) {
    const std::int64_t c = e % d, h = e / d % H, i = e / (d * H) % a.q_len, b = e / (d * H * a.q_len);
    const T* parts = workspace + ((b * H + h) * a.q_len + i) * splits * (d + 2);
    T M = neg_inf<T>();
    for (std::int64_t s = 0; s < splits; ++s) M = parts[s * (d + 2) + d] > M ? parts[s * (d + 2) + d] : M;
    T sum = T(0), out = T(0);
    if (M != neg_inf<T>()) {
      for (std::int64_t s = 0; s < splits; ++s) {
        const T* part = parts + s * (d + 2);
        if (part[d] == neg_inf<T>()) continue;  // the split saw no key of this row
        const T w = exp_of(part[d] - M);
        sum += w * part[d + 1];
        out += w * part[c];
      }
    }
    a.out[e] = sum > T(0) ? out / sum : T(0);
    if (a.lse && c == 0) a.lse[(b * H + h) * a.q_len + i] = sum > T(0) ? M + log_of(sum) : neg_inf<T>();
  }
}

template <class T, int kD>
std::string launch_decode(const AttentionArgs<T>& a, T* workspace, std::int64_t splits) {
  const std::size_t bytes = decode_shared_bytes<T, kD>(int(a.head_dim));
  if (auto e = allow_shared_memory(attention_decode_kernel<T, kD>, bytes); !e.empty()) return e;
  const std::int64_t tiles = ceil_div(a.n_heads / a.n_kv_heads * a.q_len, kDecodeRows);
  const std::int64_t items = a.batch * a.n_kv_heads * tiles;
  const dim3 grid(unsigned(splits), unsigned(items < 65535 ? items : 65535));
  attention_decode_kernel<T, kD><<<grid, kAttentionThreads, bytes>>>(a, workspace, splits);
  if (auto e = launch_status(); !e.empty()) return e;
  attention_decode_combine_kernel<T>
      <<<blocks_for(a.batch * a.q_len * a.n_heads * a.head_dim), kThreads>>>(a, workspace, splits);
  return launch_status();
}

}  // namespace

template <class T>
std::int64_t attention_decode_splits(const AttentionArgs<T>& a) {
  if (a.batch <= 0 || a.q_len <= 0 || a.n_heads <= 0 || a.head_dim <= 0) return 0;  // nothing to compute
  if (a.seq_start || a.n_kv_heads <= 0 || a.n_heads % a.n_kv_heads != 0) return 0;
  if (a.n_heads / a.n_kv_heads * a.q_len > kDecodeMaxRows) return 0;
  const std::int64_t splits = ceil_div(a.kv_len, kDecodeKeys);
  return splits >= 2 && splits <= 65535 ? splits : 0;
}

template <class T>
std::int64_t attention_decode_workspace_size(const AttentionArgs<T>& a) {
  return a.batch * a.n_heads * a.q_len * attention_decode_splits(a) * (a.head_dim + 2);
}

template <class T>
std::string attention_decode_cuda(const AttentionArgs<T>& a, T* workspace, int device) {
  if (auto e = check_heads(a); !e.empty()) return e;
  const std::int64_t splits = attention_decode_splits(a);
  if (splits < 2) return "attention_decode_cuda: these arguments do not take the split-key kernel";
  if (!workspace) return "attention_decode_cuda needs attention_decode_workspace_size elements of workspace";
  if (auto e = use_device(device); !e.empty()) return e;
  return with_head_dim_bound(
      a.head_dim, [&](auto bound) { return launch_decode<T, decltype(bound)::value>(a, workspace, splits); });
}

template std::int64_t attention_decode_splits<float>(const AttentionArgs<float>&);
template std::int64_t attention_decode_splits<double>(const AttentionArgs<double>&);
template std::int64_t attention_decode_workspace_size<float>(const AttentionArgs<float>&);
template std::int64_t attention_decode_workspace_size<double>(const AttentionArgs<double>&);
template std::string attention_decode_cuda<float>(const AttentionArgs<float>&, float*, int);
template std::string attention_decode_cuda<double>(const AttentionArgs<double>&, double*, int);

}  // namespace strata::kernels::cuda
