#pragma once
// One library handle (cuBLAS, cuDNN) per device, created on first use and kept for the
// process: a handle holds its workspace and setup, so creating one per call would allocate
// every time. Handles run on the legacy default stream, the stream every strata kernel
// uses, so library calls and the kernels around them stay in issue order.
#include <cuda_runtime.h>

#include <mutex>
#include <string>
#include <vector>

namespace strata::kernels::cuda {

template <class Handle>
class DeviceHandles {
 public:
  // Makes `device` current and sets *handle to its handle, creating it with `create`
  // (Handle* -> error string, empty on success) the first time. Empty on success.
  template <class Create>
  std::string get(int device, Handle* handle, Create create) {
    std::lock_guard lock(mutex_);
    if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return cudaGetErrorString(e);
    if (handles_.size() <= std::size_t(device)) handles_.resize(std::size_t(device) + 1, Handle{});
    Handle& slot = handles_[std::size_t(device)];
    if (!slot) {
      Handle h{};
      if (std::string e = create(&h); !e.empty()) return e;
      slot = h;
    }
    *handle = slot;
    return {};
  }

 private:
  std::mutex mutex_;
  std::vector<Handle> handles_;
};

}  // namespace strata::kernels::cuda
