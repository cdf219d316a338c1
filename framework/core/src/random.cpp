#include "strata/random.h"

#include "kernels/philox.h"

namespace strata {

std::uint64_t Generator::next_u64() {
  const auto w = kernels::philox_at(seed_, reserve(1));
  return (std::uint64_t(w[0]) << 32) | w[1];
}

}  // namespace strata
