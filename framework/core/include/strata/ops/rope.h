#pragma once
// Rotary position embedding.
#include <cstdint>

#include "strata/tensor.h"

namespace strata {

struct RopeOptions {
  double theta = 10000.0;
  // Channels rotated per head, from the first: even, 2 <= rotary_dim <= head_dim; 0 means
  // all of them. The rest pass through unchanged (partial rotary).
  std::int64_t rotary_dim = 0;
  std::int64_t position_offset = 0;  // position of row 0 (the tokens already decoded)
  // Pairs (2c, 2c+1) as in the original RoPE; false: pairs (c, c + rotary_dim/2), the
  // "rotate_half" layout of Hugging Face Llama, Mistral and Mixtral checkpoints.
  bool interleaved = false;
};

// x: [B, T, H, d] -> [B, T, H, d], channel pairs rotated by position * theta^(-2c/rotary_dim).
// Differentiable (the backward rotates the gradient back).
Tensor rope(const Tensor& x, const RopeOptions& options = {});

}  // namespace strata
