#pragma once
// One library handle (cuBLAS, cuDNN) per device, created on first use and kept for the
// process: a handle holds its workspace and setup, so creating one per call would allocate
// every time. A device whose handle cannot be made (no GPU, a library that does not load)
// keeps that error, so later calls fail (or fall back) at the cost of a lookup. Handles run
// on the legacy default stream, the stream every strata kernel uses, so library calls and
// the kernels around them stay in issue order.
#include <cuda_runtime.h>

#include <mutex>
#include <string>
#include <vector>

#include "kernels/cuda/runtime_errors.h"

namespace strata::kernels::cuda {

template <class Handle>
class DeviceHandles {
 public:
  // Makes `device` current and sets *handle to its handle, creating it with `create`
  // (Handle* -> error string, empty on success) the first time. Empty on success.
  template <class Create>
  std::string get(int device, Handle* handle, Create create) {
    std::lock_guard lock(mutex_);
    if (slots_.size() <= std::size_t(device)) slots_.resize(std::size_t(device) + 1);
    Slot& slot = slots_[std::size_t(device)];
    if (!slot.error.empty()) return slot.error;
    if (std::string e = take_error(cudaSetDevice(device)); !e.empty()) return slot.error = e;
    if (!slot.handle) {
      Handle h{};
      if (std::string e = create(&h); !e.empty()) return slot.error = e;
      slot.handle = h;
    }
    *handle = slot.handle;
    return {};
  }

 private:
  struct Slot {
    Handle handle{};
    std::string error;  // why the handle cannot be made, for good
  };
  std::mutex mutex_;
  std::vector<Slot> slots_;
};

}  // namespace strata::kernels::cuda
