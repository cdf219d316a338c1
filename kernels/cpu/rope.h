#pragma once
// Rotary position embedding (RoPE, Su et al. 2021) on the first rotary_dim channels of
// each head; the remaining channels pass through (partial rotary, as GPT-NeoX and Phi).
// Channel pairs (c, c + rotary_dim/2) rotate by angle p * theta^(-2c/rotary_dim) at
// position p (the "rotate_half" layout of Hugging Face Llama/Mistral/Mixtral), or
// pairs (2c, 2c + 1) with interleaved = true (the original Meta/GPT-J layout).
// The backward of a rotation is the rotation by the opposite angle (inverse = true).
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct RopeArgs {
  std::int64_t batch = 0, seq_len = 0, n_heads = 0, head_dim = 0;
  std::int64_t rotary_dim = 0;       // even, 2 <= rotary_dim <= head_dim
  std::int64_t position_offset = 0;  // position of row 0
  // [B, T]: the position of each row, in [0, T) (packed documents restart at 0), added to
  // position_offset; null: row t is at position_offset + t.
  const std::int64_t* positions = nullptr;
  double theta = 10000.0;
  // Scaled RoPE (linear, NTK, YaRN, Llama 3, LongRoPE): the inverse frequency of each of the
  // rotary_dim / 2 pairs instead of theta^(-2c/rotary_dim), and a factor on cos and sin
  // (YaRN's and LongRoPE's attention factor). nullptr: from theta.
  const double* inv_freq = nullptr;
  double scale = 1.0;
  bool interleaved = false;
  bool inverse = false;  // rotate by -angle (the backward)
  // x[b, t, h, c] at x[b * x_stride_b + t * x_stride_t + h * head_dim + c]
  const T* x = nullptr;  // [B, T, H, head_dim]
  std::int64_t x_stride_b = 0, x_stride_t = 0;
  T* out = nullptr;  // [B, T, H, head_dim] contiguous; must not overlap x
};

// Threaded over (batch, row). Angles are computed in f64.
template <class T>
void rope_cpu(const RopeArgs<T>& args);

}  // namespace strata::kernels::cpu
