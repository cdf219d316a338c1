#pragma once
// Framework-internal: the integrity digests of checkpoints (XXH3-64 from xxHash, written as
// 16 lowercase hex digits). They detect damage (flipped bits, truncation, files swapped
// between checkpoints), not tampering: XXH3 is not a cryptographic hash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace strata {

class Digest {
 public:
  Digest();
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  Digest& update(const void* data, std::size_t bytes);
  Digest& update(std::string_view text) { return update(text.data(), text.size()); }
  // A number as 8 little-endian bytes, so that shapes hash the same on every machine.
  Digest& update_u64(std::uint64_t value);
  std::string hex() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The digest of `bytes` in one call.
std::string digest_hex(std::string_view bytes);

}  // namespace strata
