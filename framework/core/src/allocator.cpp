#include "strata/allocator.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "strata/error.h"

#ifdef STRATA_WITH_CUDA
#include "kernels/cuda/memory.h"
#endif

namespace strata {

Allocator::~Allocator() = default;

std::size_t allocation_size_class(std::size_t bytes) {
  constexpr std::size_t kAlign = 64;
  if (bytes <= 4096) return (bytes + kAlign - 1) / kAlign * kAlign;
  // 8 classes per power of two: round up to a multiple of 1/8 of the leading power
  const std::size_t top = std::bit_floor(bytes);
  const std::size_t step = top / 8;
  return (bytes + step - 1) / step * step;
}

namespace {

constexpr std::size_t kDefaultCacheLimit = std::size_t(4) << 30;  // 4 GiB

// Keeps freed blocks in exact size-class buckets; the raw backend (malloc or cudaMalloc)
// is only called on a cache miss or when the cache is over its limit.
class CachingAllocator : public Allocator {
 public:
  void* allocate(std::size_t bytes) override {
    if (bytes == 0) return nullptr;
    if (bytes > std::size_t(PTRDIFF_MAX)) throw_out_of_memory(bytes);
    const std::size_t size = allocation_size_class(bytes);
    std::lock_guard lock(mutex_);
    ++stats_.allocations;
    void* ptr = nullptr;
    if (auto it = free_.find(size); it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      stats_.cached_bytes -= size;
      ++stats_.cache_hits;
    } else {
      // Live blocks beyond the device's memory would only end in the kernel's OOM killer
      // (Linux overcommits): refuse them here, with a message, while the process can still
      // report it.
      // An integrated GPU's allocator and the CPU's share one pool: each counts the other's
      // live blocks against it, so that the pool is counted once.
      const std::size_t limit = capacity(), neighbours = limit > 0 ? shared_pool_live_bytes() : 0;
      if (limit > 0 && neighbours + stats_.allocated_bytes + stats_.cached_bytes + size > limit)
        release_cached_locked();
      if (limit > 0 && neighbours + stats_.allocated_bytes + size > limit) throw_out_of_memory(size);
      ptr = raw_allocate(size);
      if (!ptr) {  // give the cache back and try once more before failing
        release_cached_locked();
        ptr = raw_allocate(size);
      }
      if (!ptr) throw_out_of_memory(size);
    }
    stats_.allocated_bytes += size;
    live_bytes_.store(stats_.allocated_bytes, std::memory_order_relaxed);
    stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
    return ptr;
  }

  // Bytes in live blocks, readable without the lock (by the allocator sharing the pool).
  std::size_t live_bytes() const { return live_bytes_.load(std::memory_order_relaxed); }

  void deallocate(void* ptr, std::size_t bytes) override {
    if (!ptr) return;
    const std::size_t size = allocation_size_class(bytes);
    std::lock_guard lock(mutex_);
    stats_.allocated_bytes -= size;
    live_bytes_.store(stats_.allocated_bytes, std::memory_order_relaxed);
    if (stats_.cached_bytes + size > cache_limit_) {
      raw_free(ptr);
      return;
    }
    free_[size].push_back(ptr);
    stats_.cached_bytes += size;
  }

  AllocatorStats stats() const override {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  void reset_peak() override {
    std::lock_guard lock(mutex_);
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }

  void empty_cache() override {
    std::lock_guard lock(mutex_);
    release_cached_locked();
  }

  void set_cache_limit(std::size_t bytes) override {
    std::lock_guard lock(mutex_);
    cache_limit_ = bytes;
  }

 protected:
  virtual void* raw_allocate(std::size_t bytes) = 0;  // nullptr when out of memory
  // Bytes of memory the device has (0: unknown); live blocks never exceed it.
  virtual std::size_t capacity() const { return 0; }
  // Live bytes other allocators hold in the same physical memory (0: a pool of its own).
  virtual std::size_t shared_pool_live_bytes() const { return 0; }
  virtual void raw_free(void* ptr) = 0;
  [[noreturn]] virtual void throw_out_of_memory(std::size_t bytes) = 0;

 private:
  void release_cached_locked() {
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) raw_free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  mutable std::mutex mutex_;
  std::atomic<std::size_t> live_bytes_{0};
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
  std::size_t cache_limit_ = kDefaultCacheLimit;
};

// Live bytes of the integrated GPUs' allocators (their memory is the host's); 0 before any
// GPU allocator exists, so that CPU allocations never start CUDA.
std::size_t integrated_gpu_live_bytes();

class CpuAllocator final : public CachingAllocator {
 protected:
  std::size_t shared_pool_live_bytes() const override { return integrated_gpu_live_bytes(); }
  void* raw_allocate(std::size_t bytes) override {
    // 64-byte alignment: a cache line, and enough for any vector load
    return std::aligned_alloc(64, bytes);
  }
  void raw_free(void* ptr) override { std::free(ptr); }
  std::size_t capacity() const override {
    static const std::size_t physical = [] {
      const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
      return pages > 0 && page > 0 ? std::size_t(pages) * std::size_t(page) : std::size_t(0);
    }();
    return physical;
  }
  [[noreturn]] void throw_out_of_memory(std::size_t bytes) override {
    throw Error("out of CPU memory allocating " + std::to_string(bytes) + " bytes (this machine has " +
                    std::to_string(capacity() >> 20) + " MiB)",
                "reduce the model size (d_model, n_layers), the batch size or the sequence length");
  }
};

CpuAllocator& cpu_allocator() {
  // Allocators live for the whole process and are never destroyed: storages freed during
  // static destruction (in any translation unit or plugin) must still find them.
  static CpuAllocator* cpu = new CpuAllocator();
  return *cpu;
}

#ifdef STRATA_WITH_CUDA
class CudaAllocator final : public CachingAllocator {
 public:
  explicit CudaAllocator(int device) : device_(device) {
    const CudaMemory memory = cuda_memory(Device::cuda(device));
    total_bytes_ = std::size_t(memory.total_bytes);
    integrated_ = memory.shares_host_memory;
  }
  bool integrated() const { return integrated_; }

 protected:
  std::size_t capacity() const override { return total_bytes_; }
  std::size_t shared_pool_live_bytes() const override { return integrated_ ? cpu_allocator().live_bytes() : 0; }
  void* raw_allocate(std::size_t bytes) override {
    void* ptr = nullptr;
    return kernels::cuda::malloc_on(device_, bytes, &ptr).empty() ? ptr : nullptr;
  }
  void raw_free(void* ptr) override { kernels::cuda::free_on(device_, ptr); }
  [[noreturn]] void throw_out_of_memory(std::size_t bytes) override {
    throw DeviceError("out of memory on cuda:" + std::to_string(device_) + " allocating " + std::to_string(bytes) +
                          " bytes (" + std::to_string(total_bytes_ >> 20) + " MiB" +
                          (integrated_ ? ", shared with the CPU, which holds " +
                                             std::to_string(cpu_allocator().live_bytes() >> 20) + " MiB"
                                       : std::string()) +
                          ")",
                      "reduce the model size (d_model, n_layers), the batch size or the sequence length");
  }

 private:
  int device_;
  std::size_t total_bytes_ = 0;
  bool integrated_ = false;
};

// One slot per visible GPU; a device's allocator is made when that device is first used
// (its memory query starts CUDA there, so unused GPUs get no context).
using CudaAllocatorSlots = std::vector<std::atomic<CudaAllocator*>>;
std::atomic<CudaAllocatorSlots*> g_cuda_allocator_slots{nullptr};  // set once a GPU is used

CudaAllocatorSlots& cuda_allocator_slots() {
  static CudaAllocatorSlots* slots = [] {
    auto* s = new CudaAllocatorSlots(std::size_t(cuda_device_count()));
    g_cuda_allocator_slots.store(s, std::memory_order_release);
    return s;
  }();
  return *slots;
}

CudaAllocator& cuda_allocator(int device) {
  std::atomic<CudaAllocator*>& slot = cuda_allocator_slots()[std::size_t(device)];
  if (CudaAllocator* a = slot.load(std::memory_order_acquire)) return *a;
  static std::mutex creating;
  std::lock_guard lock(creating);
  if (!slot.load(std::memory_order_relaxed)) slot.store(new CudaAllocator(device), std::memory_order_release);
  return *slot.load(std::memory_order_acquire);
}

// Live bytes of the integrated GPUs' allocators made so far (none before a GPU is used: the
// CPU allocator asks this without starting CUDA).
std::size_t integrated_gpu_live_bytes() {
  const CudaAllocatorSlots* slots = g_cuda_allocator_slots.load(std::memory_order_acquire);
  std::size_t bytes = 0;
  if (slots)
    for (const std::atomic<CudaAllocator*>& slot : *slots)
      if (const CudaAllocator* a = slot.load(std::memory_order_acquire); a && a->integrated()) bytes += a->live_bytes();
  return bytes;
}
#else
std::size_t integrated_gpu_live_bytes() { return 0; }
#endif

}  // namespace

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) return cpu_allocator();
#ifdef STRATA_WITH_CUDA
  if (device.index < 0 || device.index >= cuda_device_count())
    throw DeviceError("device " + device.to_string() + " does not exist: this machine has " +
                          std::to_string(cuda_device_count()) + " CUDA device(s)",
                      "use Device::cpu() or a cuda index below the device count");
  return cuda_allocator(device.index);
#else
  throw DeviceError("device " + device.to_string() + " is not available: strata was built without CUDA",
                    "reconfigure with -DSTRATA_CUDA=ON on a machine with the CUDA toolkit");
#endif
}

}  // namespace strata
