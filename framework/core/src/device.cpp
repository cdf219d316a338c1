#include "strata/device.h"

#include <charconv>

#include "strata/error.h"

#ifdef STRATA_WITH_CUDA
#include "kernels/cuda/memory.h"
#endif

namespace strata {

std::string Device::to_string() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

Device parse_device(std::string_view text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.starts_with("cuda:")) {
    const std::string_view digits = text.substr(5);
    int index = -1;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (error == std::errc() && end == digits.data() + digits.size() && !digits.empty() && index >= 0)
      return Device::cuda(index);
  }
  throw ValueError("unknown device '" + std::string(text) + "'", "use cpu, cuda (the first GPU) or cuda:N");
}

void check_available(Device device) {
  if (device.is_cpu()) return;
  if (!built_with_cuda())
    throw DeviceError("this strata was built without CUDA, so it cannot use " + device.to_string(),
                      "rebuild where nvcc is on PATH (cmake -DSTRATA_CUDA=ON; docs/cuda.md), or use the cpu");
  const int count = cuda_device_count();
  if (device.index >= count)
    throw DeviceError(count == 0 ? "no CUDA device is visible, so " + device.to_string() + " cannot be used"
                                 : device.to_string() + " does not exist: " + std::to_string(count) +
                                       " CUDA device(s) are visible (cuda:0 .. cuda:" + std::to_string(count - 1) + ")",
                      count == 0 ? "check nvidia-smi and CUDA_VISIBLE_DEVICES, or use the cpu"
                                 : "use an index below " + std::to_string(count));
}

bool built_with_cuda() {
#ifdef STRATA_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef STRATA_WITH_CUDA
  static const int count = kernels::cuda::device_count();  // the set of GPUs is fixed for a process
  return count;
#else
  return 0;
#endif
}

CudaMemory cuda_memory(Device device) {
  check_available(device);
  if (!device.is_cuda()) throw ValueError("cuda_memory: " + device.to_string() + " is not a CUDA device");
#ifdef STRATA_WITH_CUDA
  kernels::cuda::DeviceMemoryInfo info;
  if (const std::string e = kernels::cuda::memory_info(device.index, &info); !e.empty())
    throw DeviceError("cannot read the memory of " + device.to_string() + ": " + e, "check nvidia-smi");
  return {std::int64_t(info.free_bytes), std::int64_t(info.total_bytes), info.integrated};
#else
  return {};  // not reached: check_available refused
#endif
}

void synchronize(Device device) {
  if (device.is_cpu()) return;
  check_available(device);
#ifdef STRATA_WITH_CUDA
  if (const std::string e = kernels::cuda::synchronize(device.index); !e.empty())
    throw DeviceError(device.to_string() + " failed: " + e,
                      "a kernel issued earlier failed (launches are asynchronous): rerun with CUDA_LAUNCH_BLOCKING=1 "
                      "to find it");
#endif
}

}  // namespace strata
