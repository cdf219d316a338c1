#pragma once
// dst[0..n) = value on a CUDA device (zeros/ones/full); twin of kernels/cpu fill_cpu.
#include <cstdint>
#include <string>

namespace strata::kernels::cuda {

template <class T>
std::string fill_cuda(T* dst, std::int64_t n, T value, int device);

}  // namespace strata::kernels::cuda
