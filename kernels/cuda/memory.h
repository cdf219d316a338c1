#pragma once
// CUDA device memory and copies (runtime API), for the CUDA side of the caching
// allocator and Tensor::to(Device). Every function reports failure through its return
// value (an error string, empty on success) so the framework can raise its own errors.
#include <cstddef>
#include <string>

namespace strata::kernels::cuda {

// Usable devices; 0 when there is no driver or GPU.
int device_count();

// The device's memory: free and total bytes, and whether it is the host's memory (an
// integrated GPU such as GB10, the DGX Spark's: cudaDevAttrIntegrated).
struct DeviceMemoryInfo {
  std::size_t free_bytes = 0, total_bytes = 0;
  bool integrated = false;
};
std::string memory_info(int device, DeviceMemoryInfo* info);

std::string malloc_on(int device, std::size_t bytes, void** ptr);
// Waits for every kernel issued on `device`.
std::string synchronize(int device);
std::string free_on(int device, void* ptr);

// The "device" of host memory in copy().
inline constexpr int kHostMemory = -1;
// Copies `bytes` bytes from src on src_device to dst on dst_device (a GPU index, or
// kHostMemory; at least one is a GPU), synchronously with respect to the host. Between two
// GPUs it is cudaMemcpyPeer: ordered after earlier work on both devices, and before later
// work on either.
std::string copy(void* dst, int dst_device, const void* src, int src_device, std::size_t bytes);

}  // namespace strata::kernels::cuda
