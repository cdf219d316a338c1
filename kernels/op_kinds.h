#pragma once
// Operation kinds and parameters shared by every backend's kernels (kernels/cpu, kernels/cuda)
// and by the ops that call them through the backend table.
#include <algorithm>
#include <cstdint>

namespace strata::kernels {

enum class BinaryOp { add, sub, mul, div };

enum class UnaryOp { exp, log, sqrt, square, tanh, sigmoid, relu, silu, gelu_erf, gelu_tanh, softplus };

struct UnaryParams {
  double beta = 1.0;        // softplus
  double threshold = 20.0;  // softplus: linear where beta * x > threshold
};

// Which saved value the backward of `op` reads: true for the output y, false for x.
constexpr bool unary_bwd_uses_output(UnaryOp op) {
  return op == UnaryOp::exp || op == UnaryOp::sqrt || op == UnaryOp::tanh || op == UnaryOp::sigmoid;
}

// Random fills follow one Philox stream layout on every backend: element i of a fill uses
// counter first_counter + i / per_counter, so results depend on (key, first_counter, i)
// only, never on the device or the thread count. Elements produced per counter (4 x 32
// random bits):
template <class T>
inline constexpr std::int64_t uniform_per_counter = sizeof(T) == 4 ? 4 : 2;
template <class T>
inline constexpr std::int64_t normal_per_counter = sizeof(T) == 4 ? 4 : 2;
inline constexpr std::int64_t randint_per_counter = 2;

// Counters a fill of n elements consumes.
inline std::uint64_t counters_for(std::int64_t n, std::int64_t per_counter) {
  return std::uint64_t((n + per_counter - 1) / per_counter);
}

// Attention masks (causal, sliding window): the keys [begin, end) that query row i sees
// (both grow with i).
struct VisibleKeys {
  std::int64_t begin = 0, end = 0;
};
inline VisibleKeys attention_visible_keys(std::int64_t i, std::int64_t query_offset, std::int64_t kv_len, bool causal,
                                          std::int64_t window) {
  const std::int64_t position = query_offset + i;
  VisibleKeys keys{0, kv_len};
  if (window > 0) keys.begin = std::clamp<std::int64_t>(position - window + 1, 0, kv_len);
  if (causal) keys.end = std::clamp<std::int64_t>(position + 1, 0, kv_len);
  return keys;
}

}  // namespace strata::kernels
