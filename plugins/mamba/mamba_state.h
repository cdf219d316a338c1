#pragma once
// The Mamba mixer's recurrent state, per sequence of the batch: the last d_conv - 1 inputs
// of the causal convolution and the SSM state h. Its size does not grow with the number
// of tokens consumed (unlike a KV cache).
#include <strata/components.h>

#include <cstdint>
#include <string>

namespace strata::mamba_plugin {

class MambaState : public MixerState {
 public:
  MambaState(std::int64_t batch, std::int64_t d_inner, std::int64_t d_state, std::int64_t d_conv, DType dtype,
             Device device);
  // Given zero states of any shape (Mamba-2: conv [B, d_conv - 1, E + 2GN], SSM [B, H, P, N]).
  MambaState(Tensor conv, Tensor ssm) : conv_(std::move(conv)), ssm_(std::move(ssm)) {}

  // Bytes of the conv and SSM states (constant in the number of tokens).
  std::size_t size_bytes() const override;
  // Tokens consumed so far.
  std::int64_t position() const override { return position_; }

  const Tensor& conv() const { return conv_; }  // [B, d_conv - 1, d_inner]
  const Tensor& ssm() const { return ssm_; }    // [B, d_inner, d_state] (Mamba-2: [B, H, P, N])

  // Replaces both states after `tokens` more tokens. With grad mode on, the new states
  // keep their autograd history, so a long sequence processed chunk by chunk
  // backpropagates through the whole of it; detach() cuts that history (truncated
  // backpropagation through time).
  void advance(Tensor conv, Tensor ssm, std::int64_t tokens);
  void detach();

 private:
  Tensor conv_, ssm_;
  std::int64_t position_ = 0;
};

// `state` as the MambaState that `mixer`'s make_state made, checked against the input
// u: [B, T', d_model] it is to decode (ValueError / ShapeError naming the mixer otherwise).
MambaState& decode_state_for(MixerState& state, const Tensor& u, const std::string& mixer);

}  // namespace strata::mamba_plugin
