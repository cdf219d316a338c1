#pragma once
// Where a tensor's memory lives. The CPU is always present; CUDA devices exist when
// strata was built with STRATA_CUDA and a GPU is visible at run time. Ops dispatch on
// the device of their inputs through the backend table (backend.h).
#include <cstdint>
#include <string>
#include <string_view>

namespace strata {

enum class DeviceType : std::uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::cpu, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::cuda, index}; }

  constexpr bool is_cpu() const { return type == DeviceType::cpu; }
  constexpr bool is_cuda() const { return type == DeviceType::cuda; }
  constexpr bool operator==(const Device&) const = default;

  std::string to_string() const;  // "cpu", "cuda:0"
};

// "cpu", "cuda" (device 0) or "cuda:N"; ValueError for anything else. Says nothing about
// whether the device exists (check_available does).
Device parse_device(std::string_view text);
// DeviceError unless this build and machine have `device` (the message says which is missing).
void check_available(Device device);

// True when this build contains the CUDA side (STRATA_CUDA resolved to ON).
bool built_with_cuda();
// Number of usable CUDA devices; 0 without CUDA support, driver or GPU.
int cuda_device_count();

// Waits until every kernel issued on `device` has finished (kernels run asynchronously on
// a GPU; a timing that ends without this misses their time). A no-op on the CPU.
void synchronize(Device device);

// A GPU's memory now: free and total bytes, and whether it is the host's memory (an
// integrated GPU such as the DGX Spark's GB10, whose 128 GB serve CPU and GPU alike: what
// one uses, the other cannot). DeviceError for a device this machine does not have.
struct CudaMemory {
  std::int64_t free_bytes = 0, total_bytes = 0;
  bool shares_host_memory = false;
};
CudaMemory cuda_memory(Device device);

}  // namespace strata
