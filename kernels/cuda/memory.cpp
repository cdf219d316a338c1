#include "kernels/cuda/memory.h"

#include <cuda_runtime.h>

#include "kernels/cuda/runtime_errors.h"

namespace strata::kernels::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

std::string memory_info(int device, DeviceMemoryInfo* info) {
  if (auto e = take_error(cudaSetDevice(device)); !e.empty()) return e;
  if (auto e = take_error(cudaMemGetInfo(&info->free_bytes, &info->total_bytes)); !e.empty()) return e;
  int integrated = 0;
  if (auto e = take_error(cudaDeviceGetAttribute(&integrated, cudaDevAttrIntegrated, device)); !e.empty()) return e;
  info->integrated = integrated != 0;
  return {};
}

std::string synchronize(int device) {
  if (auto e = take_error(cudaSetDevice(device)); !e.empty()) return e;
  return take_error(cudaDeviceSynchronize());
}

std::string malloc_on(int device, std::size_t bytes, void** ptr) {
  if (auto e = take_error(cudaSetDevice(device)); !e.empty()) return e;
  return take_error(cudaMalloc(ptr, bytes));
}

std::string free_on(int device, void* ptr) {
  if (auto e = take_error(cudaSetDevice(device)); !e.empty()) return e;
  return take_error(cudaFree(ptr));
}

std::string copy(void* dst, int dst_device, const void* src, int src_device, std::size_t bytes) {
  const int device = src_device != kHostMemory ? src_device : dst_device;  // the CUDA side's
  if (auto e = take_error(cudaSetDevice(device)); !e.empty()) return e;
  if (src_device != kHostMemory && dst_device != kHostMemory && src_device != dst_device)
    return take_error(cudaMemcpyPeer(dst, dst_device, src, src_device, bytes));
  const cudaMemcpyKind kind = src_device == kHostMemory   ? cudaMemcpyHostToDevice
                              : dst_device == kHostMemory ? cudaMemcpyDeviceToHost
                                                          : cudaMemcpyDeviceToDevice;
  return take_error(cudaMemcpy(dst, src, bytes, kind));
}

}  // namespace strata::kernels::cuda
