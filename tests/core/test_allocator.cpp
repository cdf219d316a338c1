#include "catch.h"
#include "strata/allocator.h"
#include "strata/error.h"
#include "strata/tensor.h"

using namespace strata;

TEST_CASE("size classes round up by at most 1/8", "[allocator]") {
  CHECK(allocation_size_class(1) == 64);
  CHECK(allocation_size_class(4096) == 4096);
  CHECK(allocation_size_class(4097) == 4096 + 512);
  for (std::size_t bytes : {5000ul, 123456ul, 1ul << 20, (1ul << 20) + 1, 999999999ul}) {
    const std::size_t c = allocation_size_class(bytes);
    CHECK(c >= bytes);
    CHECK(double(c) <= double(bytes) * 1.125 + 64);
    CHECK(c % 64 == 0);
  }
}

TEST_CASE("freed blocks are reused and counted", "[allocator]") {
  Allocator& alloc = allocator_for(Device::cpu());
  alloc.empty_cache();
  const AllocatorStats before = alloc.stats();
  void* first = nullptr;
  {
    Tensor t = Tensor::empty({1000, 37});
    first = t.raw_data();
    CHECK(alloc.stats().allocated_bytes >= before.allocated_bytes + 1000 * 37 * 4);
  }
  CHECK(alloc.stats().cached_bytes > 0);
  Tensor again = Tensor::empty({1000, 37});
  CHECK(again.raw_data() == first);  // the same block came back
  const AllocatorStats after = alloc.stats();
  CHECK(after.cache_hits > before.cache_hits);
  CHECK(after.peak_allocated_bytes >= after.allocated_bytes);
  CHECK(reinterpret_cast<std::uintptr_t>(again.raw_data()) % 64 == 0);
}

TEST_CASE("the cache limit sends blocks back to the system", "[allocator]") {
  Allocator& alloc = allocator_for(Device::cpu());
  alloc.empty_cache();
  alloc.set_cache_limit(0);
  { Tensor t = Tensor::empty({4096}); }
  CHECK(alloc.stats().cached_bytes == 0);
  alloc.set_cache_limit(std::size_t(4) << 30);
}

TEST_CASE("a CUDA device that does not exist is a clear error", "[allocator][errors]") {
  if (cuda_device_count() > 0) return;
  REQUIRE_THROWS_AS(Tensor::empty({2}, DType::f32, Device::cuda(0)), DeviceError);
  REQUIRE_THROWS_AS(Tensor::ones({2}).to(Device::cuda(0)), DeviceError);
}
