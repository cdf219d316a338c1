#pragma once
// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011): a counter-based generator, so any element of a random stream
// can be computed independently, which makes parallel fills thread-count invariant.
#include <cstddef>
#include <cstdint>

#include "kernels/host_device.h"

namespace strata::kernels {

// Four 32-bit words (a plain struct rather than std::array, so device code can use it).
struct Philox4 {
  std::uint32_t words[4] = {};
  STRATA_HOST_DEVICE std::uint32_t operator[](std::size_t i) const { return words[i]; }
  friend bool operator==(const Philox4& a, const Philox4& b) {
    return a.words[0] == b.words[0] && a.words[1] == b.words[1] && a.words[2] == b.words[2] && a.words[3] == b.words[3];
  }
};

// 4 random words for a 128-bit counter (ctr) and 64-bit key, 10 rounds.
STRATA_HOST_DEVICE inline Philox4 philox4x32_10(Philox4 ctr, std::uint64_t key) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t k0 = std::uint32_t(key), k1 = std::uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t(kMul0) * ctr[0];
    const std::uint64_t p1 = std::uint64_t(kMul1) * ctr[2];
    ctr = {{std::uint32_t(p1 >> 32) ^ ctr[1] ^ k0, std::uint32_t(p1), std::uint32_t(p0 >> 32) ^ ctr[3] ^ k1,
            std::uint32_t(p0)}};
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return ctr;
}

// The stream strata uses: counter = (index, 0, 0, 0) as a 64-bit index in words 0-1.
STRATA_HOST_DEVICE inline Philox4 philox_at(std::uint64_t key, std::uint64_t index) {
  return philox4x32_10({{std::uint32_t(index), std::uint32_t(index >> 32), 0u, 0u}}, key);
}

// Uniform in [0, 1) from 24 random bits (every float value is exactly representable).
STRATA_HOST_DEVICE inline float uniform_f32(std::uint32_t w) { return float(w >> 8) * (1.0f / 16777216.0f); }
// Uniform in [0, 1) from 53 random bits.
STRATA_HOST_DEVICE inline double uniform_f64(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = (std::uint64_t(hi) << 21) ^ (std::uint64_t(lo) >> 11);
  return double(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

}  // namespace strata::kernels
