#include "kernels/cuda/fill.h"

#include <cuda_runtime.h>

namespace strata::kernels::cuda {

namespace {
template <class T>
__global__ void fill_kernel(T* dst, std::int64_t n, T value) {
  const std::int64_t stride = std::int64_t(blockDim.x) * gridDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) dst[i] = value;
}
}  // namespace

template <class T>
std::string fill_cuda(T* dst, std::int64_t n, T value, int device) {
  if (n == 0) return {};
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return cudaGetErrorString(e);
  constexpr int kThreads = 256;
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  fill_kernel<<<unsigned(blocks < 65535 ? blocks : 65535), kThreads>>>(dst, n, value);
  if (cudaError_t e = cudaDeviceSynchronize(); e != cudaSuccess) return cudaGetErrorString(e);
  return {};
}

template std::string fill_cuda<float>(float*, std::int64_t, float, int);
template std::string fill_cuda<double>(double*, std::int64_t, double, int);
template std::string fill_cuda<std::int64_t>(std::int64_t*, std::int64_t, std::int64_t, int);

}  // namespace strata::kernels::cuda
