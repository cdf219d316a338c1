#pragma once
// Rotary position embedding.
#include <cstdint>
#include <vector>

#include "strata/tensor.h"

namespace strata {

struct RopeOptions {
  double theta = 10000.0;
  // Channels rotated per head, from the first: even, 2 <= rotary_dim <= head_dim; 0 means
  // all of them. The rest pass through unchanged (partial rotary).
  std::int64_t rotary_dim = 0;
  std::int64_t position_offset = 0;  // position of row 0 (the tokens already decoded)
  // Packed documents: [B, T] i64, each row's position within its document (strata/packing.h
  // positions_in_sequence), added to position_offset. Undefined: row t is at offset + t.
  Tensor positions;
  // Pairs (2c, 2c+1) as in the original RoPE; false: pairs (c, c + rotary_dim/2), the
  // "rotate_half" layout of Hugging Face Llama, Mistral and Mixtral checkpoints.
  bool interleaved = false;
  // Scaled RoPE (see the attention plugin's rope_scaling): each pair's inverse frequency
  // ([rotary_dim / 2] positive values; empty: theta^(-2c/rotary_dim)) and a factor on cos and
  // sin (YaRN's and LongRoPE's attention factor; it scales q.k by scale^2 when both are rotated).
  std::vector<double> inv_freq;
  double scale = 1.0;
};

// x: [B, T, H, d] -> [B, T, H, d], channel pairs rotated by position * inv_freq[c] (by
// default theta^(-2c/rotary_dim)), times scale.
// Differentiable (the backward rotates the gradient back).
Tensor rope(const Tensor& x, const RopeOptions& options = {});

}  // namespace strata
