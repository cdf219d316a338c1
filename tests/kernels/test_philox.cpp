// Philox4x32-10 against the known-answer vectors published with Random123.
#include "catch.h"
#include "kernels/philox.h"

using strata::kernels::Philox4;
using strata::kernels::philox4x32_10;

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors", "[random]") {
  CHECK(philox4x32_10({0u, 0u, 0u, 0u}, 0ull) == Philox4{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, 0xffffffffffffffffull) ==
        Philox4{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, 0x299f31d0a4093822ull) ==
        Philox4{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}
