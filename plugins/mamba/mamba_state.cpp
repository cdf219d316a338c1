#include "mamba_state.h"

#include <strata/error.h>

namespace strata::mamba_plugin {

MambaState::MambaState(std::int64_t batch, std::int64_t d_inner, std::int64_t d_state, std::int64_t d_conv,
                       DType dtype, Device device)
    : conv_(Tensor::zeros({batch, d_conv - 1, d_inner}, dtype, device)),
      ssm_(Tensor::zeros({batch, d_inner, d_state}, dtype, device)) {}

std::size_t MambaState::size_bytes() const { return conv_.nbytes() + ssm_.nbytes(); }

void MambaState::advance(Tensor conv, Tensor ssm, std::int64_t tokens) {
  conv_ = std::move(conv);
  ssm_ = std::move(ssm);
  position_ += tokens;
}

void MambaState::detach() {
  conv_ = conv_.detach();
  ssm_ = ssm_.detach();
}

MambaState& decode_state_for(MixerState& base, const Tensor& u, const std::string& mixer) {
  auto* state = dynamic_cast<MambaState*>(&base);
  if (!state) throw ValueError(mixer + ": forward_step needs the state made by this mixer's make_state");
  if (u.rank() != 3 || u.size(0) != state->ssm().size(0))
    throw ShapeError(mixer + ": forward_step input " + u.shape().to_string() + " does not match the state's batch of " +
                         std::to_string(state->ssm().size(0)),
                     "make the state with make_state(batch) for the batch you decode");
  return *state;
}

}  // namespace strata::mamba_plugin
