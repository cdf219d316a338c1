#pragma once
// Caching allocators. A training loop allocates the same sizes every step; the cache
// hands freed blocks back out instead of returning them to the system, so steady-state
// steps do no malloc/free and touch no fresh pages. Sizes are rounded up to one of
// eight classes per power of two (<= 12.5% slack) so that near-equal sizes share blocks.
#include <cstddef>
#include <cstdint>

#include "strata/device.h"

namespace strata {

struct AllocatorStats {
  std::size_t allocated_bytes = 0;       // bytes in live blocks (rounded sizes)
  std::size_t peak_allocated_bytes = 0;  // max of allocated_bytes since the last reset_peak()
  std::size_t cached_bytes = 0;          // bytes in freed blocks kept for reuse
  std::uint64_t allocations = 0;         // calls to allocate()
  std::uint64_t cache_hits = 0;          // allocations served from the cache
};

class Allocator {
 public:
  virtual ~Allocator();
  // Returns memory aligned to at least 64 bytes; bytes == 0 returns nullptr.
  virtual void* allocate(std::size_t bytes) = 0;
  // `bytes` must be the size passed to allocate().
  virtual void deallocate(void* ptr, std::size_t bytes) = 0;
  virtual AllocatorStats stats() const = 0;
  virtual void reset_peak() = 0;
  // Returns every cached block to the system.
  virtual void empty_cache() = 0;
  // Blocks freed while the cache holds more than this go straight back to the system.
  virtual void set_cache_limit(std::size_t bytes) = 0;
};

// The process-wide allocator of a device (one per device, like the device itself).
// Throws DeviceError for a device this build or machine does not have.
Allocator& allocator_for(Device device);

// The size class a request of `bytes` is rounded up to.
std::size_t allocation_size_class(std::size_t bytes);

}  // namespace strata
