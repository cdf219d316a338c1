#include "mamba_state.h"

namespace strata::mamba_plugin {

MambaState::MambaState(std::int64_t batch, std::int64_t d_inner, std::int64_t d_state, std::int64_t d_conv,
                       DType dtype)
    : conv_(Tensor::zeros({batch, d_conv - 1, d_inner}, dtype)), ssm_(Tensor::zeros({batch, d_inner, d_state}, dtype)) {}

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

}  // namespace strata::mamba_plugin
