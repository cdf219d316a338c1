// The CUDA backend's registration: every op family's kernels (STRATA_CUDA builds).
#include "backend/cuda/cuda_backend.h"

#include <cstring>
#include <deque>
#include <mutex>

namespace strata::cuda_backend {

namespace {

// A host index tensor's values and their copy on a device (which has its device, dtype and
// shape).
struct DeviceCopy {
  std::vector<std::byte> values;
  Tensor on_device;
};

constexpr std::size_t kKeptCopies = 8;  // a batch's starts and positions, with room to spare

bool same_values(const DeviceCopy& c, const Tensor& host, std::size_t bytes, Device device) {
  return c.on_device.device() == device && c.on_device.dtype() == host.dtype() && c.on_device.shape() == host.shape() &&
         std::memcmp(c.values.data(), host.raw_data(), bytes) == 0;
}

}  // namespace

Tensor host_values_on_device(const Tensor* t, Device device) {
  if (!t || !t->defined()) return {};
  const Tensor host = t->contiguous();
  if (!host.device().is_cpu()) return host.to(device);
  static std::mutex mutex;
  // Never destroyed: the device tensors must not outlive their allocator at exit.
  static auto* kept = new std::deque<DeviceCopy>();
  const std::size_t bytes = std::size_t(host.numel()) * dtype_size(host.dtype());
  std::lock_guard lock(mutex);
  for (const DeviceCopy& c : *kept)
    if (same_values(c, host, bytes, device)) return c.on_device;
  const auto* values = static_cast<const std::byte*>(host.raw_data());
  kept->push_front({std::vector<std::byte>(values, values + bytes), host.to(device)});
  if (kept->size() > kKeptCopies) kept->pop_back();
  return kept->front().on_device;
}

void register_all(CoreKernels& k) {
  register_elementwise(k);
  register_indexing(k);
  register_rows(k);
  register_rope(k);
  register_matmul(k);
  register_optimizer(k);
  register_attention(k);
  register_selective_scan(k);
  register_causal_conv(k);
  register_ssd(k);
  register_gated_delta_rule(k);
}

}  // namespace strata::cuda_backend
