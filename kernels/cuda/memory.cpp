#include "kernels/cuda/memory.h"

#include <cuda_runtime.h>

namespace strata::kernels::cuda {

namespace {
// The text of a failed call, its error also taken from the runtime's last-error slot: a
// failed cudaMalloc that the caching allocator recovers from (it frees its cache and
// retries) must not surface as the error of the next kernel launch.
std::string describe(cudaError_t e) {
  if (e == cudaSuccess) return {};
  cudaGetLastError();
  return cudaGetErrorString(e);
}
}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

std::string memory_info(int device, DeviceMemoryInfo* info) {
  if (auto e = describe(cudaSetDevice(device)); !e.empty()) return e;
  if (auto e = describe(cudaMemGetInfo(&info->free_bytes, &info->total_bytes)); !e.empty()) return e;
  int integrated = 0;
  if (auto e = describe(cudaDeviceGetAttribute(&integrated, cudaDevAttrIntegrated, device)); !e.empty()) return e;
  info->integrated = integrated != 0;
  return {};
}

std::string synchronize(int device) {
  if (auto e = describe(cudaSetDevice(device)); !e.empty()) return e;
  return describe(cudaDeviceSynchronize());
}

std::string malloc_on(int device, std::size_t bytes, void** ptr) {
  if (auto e = describe(cudaSetDevice(device)); !e.empty()) return e;
  return describe(cudaMalloc(ptr, bytes));
}

std::string free_on(int device, void* ptr) {
  if (auto e = describe(cudaSetDevice(device)); !e.empty()) return e;
  return describe(cudaFree(ptr));
}

std::string copy(void* dst, const void* src, std::size_t bytes, CopyKind kind, int device) {
  if (auto e = describe(cudaSetDevice(device)); !e.empty()) return e;
  const cudaMemcpyKind k = kind == CopyKind::host_to_device   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::device_to_host ? cudaMemcpyDeviceToHost
                                                              : cudaMemcpyDeviceToDevice;
  return describe(cudaMemcpy(dst, src, bytes, k));
}

std::string copy_between_devices(void* dst, int dst_device, const void* src, int src_device, std::size_t bytes) {
  // cudaMemcpyPeer is ordered after earlier work on both devices' legacy streams, and work
  // issued after it on either waits for it.
  if (auto e = describe(cudaSetDevice(src_device)); !e.empty()) return e;
  return describe(cudaMemcpyPeer(dst, dst_device, src, src_device, bytes));
}

}  // namespace strata::kernels::cuda
