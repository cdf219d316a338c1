#pragma once
// dst[0..n) = value on a CUDA device (zeros/ones/full); twin of kernels/cpu fill_cpu.
// T: float, double, std::int64_t, and std::uint16_t for the 16-bit types (bf16, f16),
// filled with the bits of the value as the caller converted it.
#include <cstdint>
#include <string>

namespace strata::kernels::cuda {

template <class T>
std::string fill_cuda(T* dst, std::int64_t n, T value, int device);

}  // namespace strata::kernels::cuda
