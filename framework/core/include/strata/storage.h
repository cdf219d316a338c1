#pragma once
// Storage: one block of device memory shared by a tensor and all its views. Returned
// to its device's caching allocator when the last view goes away.
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "strata/device.h"

namespace strata {

class Allocator;

class Storage {
 public:
  Storage(std::size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

  // Incremented by every in-place write through the public API; autograd compares it
  // with the version seen when a tensor was saved for backward.
  std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace strata
