#pragma once
// How the chunked linear-recurrence kernels (the SSD scan, the gated delta rule) cut each
// batch row into chunks, and the in-chunk decay rows they share.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/vec_math.h"

namespace strata::kernels::cpu {

// One chunk of a row: steps [t0, t0 + len). `fresh`: it opens a packed document after t = 0,
// so the state entering it is zero rather than the previous chunk's.
struct Chunk {
  std::int64_t t0 = 0, len = 0;
  bool fresh = false;
};

// Every row's chunks: runs of at most `chunk` steps from each document start (from t = 0
// only, when unpacked), so that no chunk spans two documents.
struct ChunkPlan {
  std::vector<std::vector<Chunk>> rows;
  std::int64_t max_chunks = 0;  // the most of any row: the stride of saved chunk states
  std::int64_t longest = 1;     // the longest chunk (shorter than `chunk` for short sequences)
};

// starts: [batch, seq_len] document starts (strata/packing.h), or null (one sequence per row).
ChunkPlan chunk_plan(std::int64_t batch, std::int64_t seq_len, std::int64_t chunk, const std::int64_t* starts);

template <class T>
T dot(const T* a, const T* b, std::int64_t n) {
  T s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// row[j] = exp(acum[i] - acum[j]) for j <= i (the decay from step j to step i inside a
// chunk, acum the cumulative log decay), through the vector exp in f32: a chunk's l^2 / 2
// exponentials are a large part of these kernels' elementwise work.
template <class T>
void decay_row(const T* acum, std::int64_t i, T* row) {
  for (std::int64_t j = 0; j <= i; ++j) row[j] = acum[i] - acum[j];
  if constexpr (std::is_same_v<T, float>) {
    vec::exp(row, row, i + 1);
  } else {
    for (std::int64_t j = 0; j <= i; ++j) row[j] = std::exp(row[j]);
  }
}

}  // namespace strata::kernels::cpu
