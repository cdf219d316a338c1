#pragma once
// What attention_fwd.cu and attention_bwd.cu share: the mask geometry (the keys each query
// row sees, as kernels/cpu/attention.cpp's Layout), the tile sizes, shared-memory carving
// and tile loads, and the head_dim dispatch.
//
// Tiles: each kernel's block owns a tile of rows (query rows in the forward and dQ, key
// rows in dK/dV) whose accumulators live in registers: kAttentionThreads / rows threads
// per owned row, each holding the columns lane, lane + tpr, lane + 2 tpr, ... of it. The
// other operand streams through shared memory a tile at a time. Shared rows are padded to
// an odd stride so the threads of a warp reading one column of different rows hit
// different banks.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda::attention_detail {

inline constexpr int kAttentionThreads = 128;  // threads per block of every attention kernel

// ---- tile sizes ---------------------------------------------------------------------
// Chosen by the bytes of one head row at the head_dim bound kD, so the shared memory stays
// under ~72 KiB (the opt-in limit is 99 KiB on sm_120/121, more elsewhere) and the
// per-thread accumulator arrays at <= 64 values (ptxas, sm_90: 139-222 registers per
// thread in all, so at most 2 blocks of 128 threads per SM).

template <class T, int kD>
struct ForwardTiles {
  static constexpr int kRowBytes = int(sizeof(T)) * kD;
  static constexpr int rows = kRowBytes <= 256 ? 64 : kRowBytes <= 1024 ? 32 : 16;  // queries, Br
  static constexpr int cols = kRowBytes <= 512 ? 32 : 16;                           // keys, Bc
};

// The backward's owned tile (keys in dK/dV, queries in dQ) and streamed tile.
template <class T, int kD>
struct BackwardTiles {
  static constexpr int kRowBytes = int(sizeof(T)) * kD;
  static constexpr int owned = kRowBytes <= 512 ? 32 : kRowBytes <= 1024 ? 16 : 8;
  static constexpr int streamed = kRowBytes <= 256 ? 32 : kRowBytes <= 1024 ? 16 : 8;
};

// Padded row stride (elements) of a [rows, d] tile in shared memory: odd.
__host__ __device__ inline int tile_stride(int d) { return d | 1; }

// Shared memory is carved into consecutive arrays, each starting 16-byte aligned; the host
// sums the same sizes with padded_bytes to size the launch.
__host__ __device__ inline std::size_t padded_bytes(std::size_t bytes) { return (bytes + 15) / 16 * 16; }

struct SharedCarver {
  unsigned char* next;
  template <class U>
  __device__ U* take(int n) {
    U* p = reinterpret_cast<U*>(next);
    next += padded_bytes(std::size_t(n) * sizeof(U));
    return p;
  }
};

// ---- math -----------------------------------------------------------------------------

__device__ inline float exp_of(float x) { return expf(x); }
__device__ inline double exp_of(double x) { return exp(x); }
__device__ inline float log_of(float x) { return logf(x); }
__device__ inline double log_of(double x) { return log(x); }
template <class T>
__device__ inline T neg_inf() {
  return -T(INFINITY);
}

// Max / sum over the `lanes` adjacent lanes of an owned row (lanes a power of two <= 32
// dividing 32); every lane of the group gets the same bits (the butterfly adds the same
// pairs in every lane). All 32 lanes of the warp must call it.
template <int lanes, class T>
__device__ inline T group_max(T v) {
  for (int offset = lanes / 2; offset > 0; offset /= 2) {
    const T other = __shfl_xor_sync(0xffffffffu, v, offset);
    v = other > v ? other : v;
  }
  return v;
}
template <int lanes, class T>
__device__ inline T group_sum(T v) {
  for (int offset = lanes / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// ---- mask geometry ------------------------------------------------------------------

struct KeyRange {
  std::int64_t begin = 0, end = 0;  // [begin, end); empty when begin >= end
};

// Keys query row i of sequence b sees: attention_visible_keys (kernels/op_kinds.h), with
// packed documents from the row's document start on (Layout::key_begin / key_end).
template <class T>
__device__ inline KeyRange visible_keys(const AttentionArgs<T>& a, std::int64_t b, std::int64_t i) {
  const std::int64_t position = a.query_offset + i;
  KeyRange keys{0, a.kv_len};
  if (a.window > 0) keys.begin = min(max(position - a.window + 1, std::int64_t(0)), a.kv_len);
  if (a.causal) keys.end = min(max(position + 1, std::int64_t(0)), a.kv_len);
  if (a.seq_start) keys.begin = max(keys.begin, a.seq_start[b * a.q_len + i]);
  return keys;
}

// The smallest key range holding every key some row of [i0, i1) sees (empty if none).
template <class T>
__device__ inline KeyRange tile_keys(const AttentionArgs<T>& a, std::int64_t b, std::int64_t i0, std::int64_t i1) {
  KeyRange all{a.kv_len, 0};
  for (std::int64_t i = i0; i < i1; ++i) {
    const KeyRange keys = visible_keys(a, b, i);
    if (keys.begin >= keys.end) continue;
    all.begin = min(all.begin, keys.begin);
    all.end = max(all.end, keys.end);
  }
  return all;
}

// Whether some row of [i0, i1) sees some key of [j0, j1). Only packed documents leave
// gaps in tile_keys / queries_seeing; without them the answer is always true there.
template <class T>
__device__ inline bool rows_see_keys(const AttentionArgs<T>& a, std::int64_t b, std::int64_t i0, std::int64_t i1,
                                     std::int64_t j0, std::int64_t j1) {
  for (std::int64_t i = i0; i < i1; ++i) {
    const KeyRange keys = visible_keys(a, b, i);
    if (max(keys.begin, j0) < min(keys.end, j1)) return true;
  }
  return false;
}

// The query rows that may see a key of [j0, j1) under the causal / window masks
// (Layout::queries_seeing without the packed-documents narrowing: rows_see_keys does that).
template <class T>
__device__ inline KeyRange queries_seeing(const AttentionArgs<T>& a, std::int64_t j0, std::int64_t j1) {
  KeyRange rows{0, a.q_len};
  if (a.causal) rows.begin = max(std::int64_t(0), j0 - a.query_offset);
  if (a.window > 0) rows.end = min(a.q_len, j1 + a.window - 1 - a.query_offset);
  return rows;
}

// ---- tile loads -----------------------------------------------------------------------

// dst[r * ld + c] = src[r * stride + c] for r < rows, c < d, and 0 for rows in
// [rows, tile_rows) (a tile past the end stays finite). Coalesced along c.
template <class T>
__device__ inline void load_tile(T* dst, int ld, const T* __restrict__ src, std::int64_t stride, int rows,
                                 int tile_rows, int d) {
  for (int e = threadIdx.x; e < tile_rows * d; e += blockDim.x) {
    const int r = e / d, c = e % d;
    dst[r * ld + c] = r < rows ? src[r * stride + c] : T(0);
  }
}

// ---- host ---------------------------------------------------------------------------

// Runs f(std::integral_constant<int, kD>{}) with kD the head_dim bound of the kernels
// compiled for d (64, 128 or 256); "" or the error.
template <class F>
std::string with_head_dim_bound(std::int64_t d, F&& f) {
  if (d <= 64) return f(std::integral_constant<int, 64>{});
  if (d <= 128) return f(std::integral_constant<int, 128>{});
  if (d <= kAttentionMaxHeadDim) return f(std::integral_constant<int, 256>{});
  return "attention: head_dim " + std::to_string(d) + " exceeds the CUDA kernels' limit of " +
         std::to_string(kAttentionMaxHeadDim);
}

template <class T>
std::string check_heads(const AttentionArgs<T>& a) {
  if (a.n_kv_heads <= 0 || a.n_heads % a.n_kv_heads != 0)
    return "attention: n_heads must be a positive multiple of n_kv_heads";
  return {};
}

}  // namespace strata::kernels::cuda::attention_detail
