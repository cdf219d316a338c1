#include "io/digest.h"

#include <xxhash.h>

#include <cstdio>
#include <stdexcept>

namespace strata {

struct Digest::State {
  XXH3_state_t* xxh = XXH3_createState();
};

Digest::Digest() : state_(std::make_unique<State>()) {
  if (state_->xxh == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state_->xxh);
}

Digest::~Digest() { XXH3_freeState(state_->xxh); }

Digest& Digest::update(const void* data, std::size_t bytes) {
  if (bytes > 0) XXH3_64bits_update(state_->xxh, data, bytes);
  return *this;
}

Digest& Digest::update_u64(std::uint64_t value) {
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(value >> (8 * i));
  return update(le, 8);
}

std::string Digest::hex() const {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(XXH3_64bits_digest(state_->xxh)));
  return text;
}

std::string digest_hex(std::string_view bytes) { return Digest().update(bytes).hex(); }

}  // namespace strata
