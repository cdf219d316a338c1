#include "kernels/cuda/fill.h"

#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {
template <class T>
__global__ void fill_kernel(T* dst, std::int64_t n, T value) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) dst[i] = value;
}
}  // namespace

template <class T>
std::string fill_cuda(T* dst, std::int64_t n, T value, int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  fill_kernel<<<blocks_for(n), kThreads>>>(dst, n, value);
  return launch_status();
}

template std::string fill_cuda<float>(float*, std::int64_t, float, int);
template std::string fill_cuda<double>(double*, std::int64_t, double, int);
template std::string fill_cuda<std::int64_t>(std::int64_t*, std::int64_t, std::int64_t, int);
template std::string fill_cuda<std::uint16_t>(std::uint16_t*, std::int64_t, std::uint16_t, int);

}  // namespace strata::kernels::cuda
