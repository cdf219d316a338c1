// Flash attention backward on a CUDA device (twin of attention_bwd_cpu), in three kernels
// that own every value they write (no atomics: results are reproducible run to run):
//   delta: D_i = rowsum(dO_i * O_i) into the workspace [B, Hq, T];
//   dK/dV: one block per (batch, key/value head, tile of keys), summing over the query
//          tiles that see its keys, for each query head of its group in order;
//   dQ:    one block per (batch, query head, tile of queries), over the key tiles its rows see.
// Both recompute P = exp(scale * q.k - lse) and dS = P * (dO.v - D) for each tile pair;
// the scale of dK and dQ is applied once, when they are written.
#include "kernels/cuda/attention.cuh"

namespace strata::kernels::cuda {

namespace {

using namespace attention_detail;

// delta[b, h, i] = sum_c out[b, i, h, c] * dout[b, i, h, c]; out, dout: [B, T, H, d]
// contiguous. One warp per (b, i, h).
template <class T>
__global__ void attention_delta_kernel(const T* __restrict__ out, const T* __restrict__ dout, T* __restrict__ delta,
                                       std::int64_t batch, std::int64_t q_len, std::int64_t n_heads, std::int64_t d) {
  const int lane = threadIdx.x % kWarp;
  const std::int64_t rows = batch * q_len * n_heads, warps = grid_size() / kWarp;
  for (std::int64_t r = global_index() / kWarp; r < rows; r += warps) {
    T sum = T(0);
    for (std::int64_t c = lane; c < d; c += kWarp) sum += out[r * d + c] * dout[r * d + c];
    sum = warp_sum(sum);
    if (lane == 0) {
      const std::int64_t h = r % n_heads, b = r / n_heads / q_len, i = r / n_heads % q_len;
      delta[(b * n_heads + h) * q_len + i] = sum;
    }
  }
}

// Per query row of a streamed (dK/dV) or owned (dQ) tile: lse, D and the keys it sees
// (empty for rows past the end and rows that see no key: lse -inf).
template <class T>
__device__ inline void load_row_terms(const AttentionArgs<T>& a, std::int64_t b, const T* lse, const T* delta,
                                      std::int64_t i0, int rows, int tile_rows, T* lse_s, T* delta_s,
                                      std::int64_t* begin_s, std::int64_t* end_s) {
  for (int r = threadIdx.x; r < tile_rows; r += blockDim.x) {
    KeyRange keys{0, 0};
    T l = T(0), dl = T(0);
    if (r < rows && lse[i0 + r] != neg_inf<T>()) {
      l = lse[i0 + r];
      dl = delta[i0 + r];
      keys = visible_keys(a, b, i0 + r);
    }
    lse_s[r] = l;
    delta_s[r] = dl;
    begin_s[r] = keys.begin;
    end_s[r] = keys.end;
  }
}

// dS[r, jj] (and P when p_s is given) for query rows r < tile_rows and keys jj < Bc of
// the tiles in shared memory; 0 where row r does not see key j0 + jj. ps_ld / the index
// order: entry (r, jj) at r * ps_ld + jj. One thread per entry, adjacent threads on
// adjacent keys (distinct banks of the padded key rows, the query row broadcast).
template <class T>
__device__ inline void score_gradients(const AttentionArgs<T>& a, int tile_rows, int Bc, int cols, std::int64_t j0,
                                       int d, int ld, const T* q_s, const T* do_s, const T* k_s, const T* v_s,
                                       const T* lse_s, const T* delta_s, const std::int64_t* begin_s,
                                       const std::int64_t* end_s, T* p_s, T* ds_s, int ps_ld) {
  for (int e = threadIdx.x; e < tile_rows * Bc; e += blockDim.x) {
    const int r = e / Bc, jj = e % Bc;
    const std::int64_t j = j0 + jj;
    T p = T(0), ds = T(0);
    if (jj < cols && j >= begin_s[r] && j < end_s[r]) {
      T qk = T(0), dov = T(0);
      for (int c = 0; c < d; ++c) {
        qk += q_s[r * ld + c] * k_s[jj * ld + c];
        dov += do_s[r * ld + c] * v_s[jj * ld + c];
      }
      p = exp_of(a.scale * qk - lse_s[r]);
      ds = p * (dov - delta_s[r]);
    }
    if (p_s) p_s[r * ps_ld + jj] = p;
    ds_s[r * ps_ld + jj] = ds;
  }
}

// Dynamic shared memory of the two kernels for head_dim d (carved in the same order).
template <class T, int kD>
std::size_t dkdv_shared_bytes(int d) {
  constexpr int Bc = BackwardTiles<T, kD>::owned, Br = BackwardTiles<T, kD>::streamed;
  const std::size_t ld = std::size_t(tile_stride(d));
  return 2 * padded_bytes(Bc * ld * sizeof(T)) + 2 * padded_bytes(Br * ld * sizeof(T)) +
         2 * padded_bytes(std::size_t(Br) * (Bc + 1) * sizeof(T)) + 2 * padded_bytes(Br * sizeof(T)) +
         2 * padded_bytes(Br * sizeof(std::int64_t));
}
template <class T, int kD>
std::size_t dq_shared_bytes(int d) {
  constexpr int Br = BackwardTiles<T, kD>::owned, Bc = BackwardTiles<T, kD>::streamed;
  const std::size_t ld = std::size_t(tile_stride(d));
  return 2 * padded_bytes(Br * ld * sizeof(T)) + 2 * padded_bytes(Bc * ld * sizeof(T)) +
         padded_bytes(std::size_t(Br) * (Bc + 1) * sizeof(T)) + 2 * padded_bytes(Br * sizeof(T)) +
         2 * padded_bytes(Br * sizeof(std::int64_t));
}

// dk, dv: [B, S, Hkv, d], overwritten. Thread (key, lane) owns key j0 + key of the tile:
// its dK and dV columns lane + tpr c, summed over every query row that sees the key.
template <class T, int kD>
__global__ void __launch_bounds__(kAttentionThreads, 1) attention_dkdv_kernel(const AttentionGradArgs<T> g) {
  const AttentionArgs<T>& a = g.fwd;
  constexpr int Bc = BackwardTiles<T, kD>::owned, Br = BackwardTiles<T, kD>::streamed;
  constexpr int tpr = kAttentionThreads / Bc, kCols = kD / tpr;  // threads per key, columns per thread
  static_assert(tpr <= kWarp && kWarp % tpr == 0 && kD % tpr == 0);

  extern __shared__ __align__(16) unsigned char attention_shared[];
  const int d = int(a.head_dim), ld = tile_stride(d);
  SharedCarver carve{attention_shared};
  T* k_s = carve.take<T>(Bc * ld);          // [Bc, ld] this block's keys
  T* v_s = carve.take<T>(Bc * ld);          // [Bc, ld] and values
  T* q_s = carve.take<T>(Br * ld);          // [Br, ld] the query tile
  T* do_s = carve.take<T>(Br * ld);         // [Br, ld] its output gradient
  T* p_s = carve.take<T>(Br * (Bc + 1));    // [Br, Bc + 1] P
  T* ds_s = carve.take<T>(Br * (Bc + 1));   // [Br, Bc + 1] dS
  T* lse_s = carve.take<T>(Br);
  T* delta_s = carve.take<T>(Br);
  std::int64_t* begin_s = carve.take<std::int64_t>(Br);
  std::int64_t* end_s = carve.take<std::int64_t>(Br);

  const int key = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  const std::int64_t q_len = a.q_len, S = a.kv_len, H = a.n_heads, Hkv = a.n_kv_heads, group = H / Hkv;
  const std::int64_t tiles = (S + Bc - 1) / Bc, items = a.batch * Hkv * tiles;
  for (std::int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const std::int64_t b = item / (Hkv * tiles), kv_h = item / tiles % Hkv, j0 = item % tiles * Bc;
    const int cols = int(min(std::int64_t(Bc), S - j0));
    __syncthreads();  // the previous item's reads of shared memory are done
    load_tile(k_s, ld, a.k + b * a.k_stride_b + j0 * a.k_stride_t + kv_h * d, a.k_stride_t, cols, Bc, d);
    load_tile(v_s, ld, a.v + b * a.v_stride_b + j0 * a.v_stride_t + kv_h * d, a.v_stride_t, cols, Bc, d);

    T dk[kCols], dv[kCols];
#pragma unroll
    for (int c = 0; c < kCols; ++c) dk[c] = dv[c] = T(0);
    const KeyRange queries = queries_seeing(a, j0, j0 + cols);
    for (std::int64_t h = kv_h * group; h < (kv_h + 1) * group; ++h) {
      const T* q = a.q + b * a.q_stride_b + h * d;     // row i at i * q_stride_t
      const T* dout = g.dout + (b * q_len * H + h) * d;  // row i at i * H * d
      const T* lse = a.lse + (b * H + h) * q_len;
      const T* delta = g.workspace + (b * H + h) * q_len;
      for (std::int64_t i0 = queries.begin; i0 < queries.end; i0 += Br) {
        const int rows = int(min(std::int64_t(Br), queries.end - i0));
        if (a.seq_start && !rows_see_keys(a, b, i0, i0 + rows, j0, j0 + cols)) continue;  // same in every thread
        __syncthreads();  // the previous query tile's reads are done
        load_tile(q_s, ld, q + i0 * a.q_stride_t, a.q_stride_t, rows, Br, d);
        load_tile(do_s, ld, dout + i0 * H * d, H * d, rows, Br, d);
        load_row_terms(a, b, lse, delta, i0, rows, Br, lse_s, delta_s, begin_s, end_s);
        __syncthreads();
        score_gradients(a, Br, Bc, cols, j0, d, ld, q_s, do_s, k_s, v_s, lse_s, delta_s, begin_s, end_s, p_s, ds_s,
                        Bc + 1);
        __syncthreads();
        // dV_j += P^T dO_i, dK_j += dS^T Q_i
        for (int r = 0; r < rows; ++r) {
          const T p = p_s[r * (Bc + 1) + key], ds = ds_s[r * (Bc + 1) + key];
#pragma unroll
          for (int c = 0; c < kCols; ++c) {
            const int col = lane + tpr * c;
            if (col < d) {
              dv[c] += p * do_s[r * ld + col];
              dk[c] += ds * q_s[r * ld + col];
            }
          }
        }
      }
    }

    if (key < cols) {
      const std::int64_t offset = ((b * S + j0 + key) * Hkv + kv_h) * d;
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int col = lane + tpr * c;
        if (col < d) {
          g.dk[offset + col] = a.scale * dk[c];
          g.dv[offset + col] = dv[c];
        }
      }
    }
  }
}

// dq: [B, T, Hq, d], overwritten. Thread (row, lane) owns query row i0 + row of the tile:
// its dQ columns lane + tpr c, summed over the keys the row sees.
template <class T, int kD>
__global__ void __launch_bounds__(kAttentionThreads, 1) attention_dq_kernel(const AttentionGradArgs<T> g) {
  const AttentionArgs<T>& a = g.fwd;
  constexpr int Br = BackwardTiles<T, kD>::owned, Bc = BackwardTiles<T, kD>::streamed;
  constexpr int tpr = kAttentionThreads / Br, kCols = kD / tpr;  // threads per query row, columns per thread
  static_assert(tpr <= kWarp && kWarp % tpr == 0 && kD % tpr == 0);

  extern __shared__ __align__(16) unsigned char attention_shared[];
  const int d = int(a.head_dim), ld = tile_stride(d);
  SharedCarver carve{attention_shared};
  T* q_s = carve.take<T>(Br * ld);          // [Br, ld] this block's queries
  T* do_s = carve.take<T>(Br * ld);         // [Br, ld] and their output gradient
  T* k_s = carve.take<T>(Bc * ld);          // [Bc, ld] the key tile
  T* v_s = carve.take<T>(Bc * ld);          // [Bc, ld] and its values
  T* ds_s = carve.take<T>(Br * (Bc + 1));   // [Br, Bc + 1] dS
  T* lse_s = carve.take<T>(Br);
  T* delta_s = carve.take<T>(Br);
  std::int64_t* begin_s = carve.take<std::int64_t>(Br);
  std::int64_t* end_s = carve.take<std::int64_t>(Br);

  const int row = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  const std::int64_t q_len = a.q_len, H = a.n_heads, group = H / a.n_kv_heads;
  const std::int64_t tiles = (q_len + Br - 1) / Br, items = a.batch * H * tiles;
  for (std::int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const std::int64_t b = item / (H * tiles), h = item / tiles % H, kv_h = h / group;
    // Last tiles first: under causal masking they see the most keys.
    const std::int64_t i0 = (tiles - 1 - item % tiles) * Br;
    const int rows = int(min(std::int64_t(Br), q_len - i0));
    const KeyRange keys = tile_keys(a, b, i0, i0 + rows);
    const T* k = a.k + b * a.k_stride_b + kv_h * d;
    const T* v = a.v + b * a.v_stride_b + kv_h * d;

    __syncthreads();  // the previous item's reads of shared memory are done
    load_tile(q_s, ld, a.q + b * a.q_stride_b + i0 * a.q_stride_t + h * d, a.q_stride_t, rows, Br, d);
    load_tile(do_s, ld, g.dout + ((b * q_len + i0) * H + h) * d, H * d, rows, Br, d);
    load_row_terms(a, b, a.lse + (b * H + h) * q_len, g.workspace + (b * H + h) * q_len, i0, rows, Br, lse_s, delta_s,
                   begin_s, end_s);

    T acc[kCols];
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[c] = T(0);
    for (std::int64_t j0 = keys.begin; j0 < keys.end; j0 += Bc) {
      const int cols = int(min(std::int64_t(Bc), keys.end - j0));
      if (a.seq_start && !rows_see_keys(a, b, i0, i0 + rows, j0, j0 + cols)) continue;  // same in every thread
      __syncthreads();  // the previous key tile's reads of k_s and ds_s are done
      load_tile(k_s, ld, k + j0 * a.k_stride_t, a.k_stride_t, cols, Bc, d);
      load_tile(v_s, ld, v + j0 * a.v_stride_t, a.v_stride_t, cols, Bc, d);
      __syncthreads();
      score_gradients<T>(a, Br, Bc, cols, j0, d, ld, q_s, do_s, k_s, v_s, lse_s, delta_s, begin_s, end_s, nullptr,
                         ds_s, Bc + 1);
      __syncthreads();
      // dQ_i += dS K_j
      for (int jj = 0; jj < cols; ++jj) {
        const T ds = ds_s[row * (Bc + 1) + jj];
#pragma unroll
        for (int c = 0; c < kCols; ++c) {
          const int col = lane + tpr * c;
          if (col < d) acc[c] += ds * k_s[jj * ld + col];
        }
      }
    }

    if (row < rows) {
      T* dq = g.dq + ((b * q_len + i0 + row) * H + h) * d;
#pragma unroll
      for (int c = 0; c < kCols; ++c) {
        const int col = lane + tpr * c;
        if (col < d) dq[col] = a.scale * acc[c];
      }
    }
  }
}

template <class T, int kD>
std::string launch_backward(const AttentionGradArgs<T>& g) {
  const AttentionArgs<T>& a = g.fwd;
  const int d = int(a.head_dim);
  const std::int64_t rows = a.batch * a.q_len * a.n_heads;
  if (rows > 0) {
    attention_delta_kernel<T><<<blocks_for(rows * kWarp), kThreads>>>(a.out, g.dout, g.workspace, a.batch, a.q_len,
                                                                       a.n_heads, a.head_dim);
    if (auto e = launch_status(); !e.empty()) return e;
  }
  if (a.kv_len > 0) {  // every key tile, also those no query sees (their dK, dV are 0)
    constexpr int Bc = BackwardTiles<T, kD>::owned;
    const std::size_t bytes = dkdv_shared_bytes<T, kD>(d);
    if (auto e = allow_shared_memory(attention_dkdv_kernel<T, kD>, bytes); !e.empty()) return e;
    const std::int64_t items = a.batch * a.n_kv_heads * ((a.kv_len + Bc - 1) / Bc);
    attention_dkdv_kernel<T, kD><<<row_blocks(items), kAttentionThreads, bytes>>>(g);
    if (auto e = launch_status(); !e.empty()) return e;
  }
  if (rows > 0) {
    constexpr int Br = BackwardTiles<T, kD>::owned;
    const std::size_t bytes = dq_shared_bytes<T, kD>(d);
    if (auto e = allow_shared_memory(attention_dq_kernel<T, kD>, bytes); !e.empty()) return e;
    const std::int64_t items = a.batch * a.n_heads * ((a.q_len + Br - 1) / Br);
    attention_dq_kernel<T, kD><<<row_blocks(items), kAttentionThreads, bytes>>>(g);
  }
  return launch_status();
}

}  // namespace

template <class T>
std::string attention_bwd_cuda(const AttentionGradArgs<T>& g, int device) {
  if (auto e = check_heads(g.fwd); !e.empty()) return e;
  if (g.fwd.batch == 0 || g.fwd.n_kv_heads == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  return with_head_dim_bound(g.fwd.head_dim,
                             [&](auto bound) { return launch_backward<T, decltype(bound)::value>(g); });
}

template std::string attention_bwd_cuda<float>(const AttentionGradArgs<float>&, int);
template std::string attention_bwd_cuda<double>(const AttentionGradArgs<double>&, int);

}  // namespace strata::kernels::cuda
