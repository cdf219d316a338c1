#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). Element i of a
// fill draws from counter (offset + i / per_counter), so the values depend only on the
// seed, the generator's offset and i: never on the number of threads or the order in
// which threads run. A Generator is an explicit object that callers own and pass; its
// whole state is (seed, offset), which makes exact resume trivial.
#include <cstdint>

namespace strata {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}

  std::uint64_t seed() const { return seed_; }
  // Number of Philox counters consumed so far.
  std::uint64_t offset() const { return offset_; }
  void set_state(std::uint64_t seed, std::uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }

  // Reserves `counters` consecutive counters and returns the first one.
  std::uint64_t reserve(std::uint64_t counters) {
    const std::uint64_t first = offset_;
    offset_ += counters;
    return first;
  }

  // One 64-bit draw (consumes one counter); for small host-side decisions.
  std::uint64_t next_u64();

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

}  // namespace strata
