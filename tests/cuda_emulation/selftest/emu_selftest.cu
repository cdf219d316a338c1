// Kernels that check the CUDA emulator itself (see emu_selftest.h and test_emulator.cpp).
// Written as kernels/cuda files are, and translated by the same prepare.cmake.
#include "selftest/emu_selftest.h"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace emu_selftest {

namespace {

std::string status() {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? std::string() : cudaGetErrorString(e);
}

__global__ void shared_per_block_kernel(double* out) {
  __shared__ double cells[1024];
  __shared__ int block_tag;
  const int t = threadIdx.x;
  if (t == 0) block_tag = int(blockIdx.x);
  cells[t] = 1000.0 * blockIdx.x + t;
  __syncthreads();
  const int peer = (t + 1) % int(blockDim.x);
  out[blockIdx.x * blockDim.x + t] = cells[peer] - peer + block_tag - double(blockIdx.x);  // 1000 b
}

__global__ void shared_unwritten_kernel(double* out) {
  __shared__ double cells[64];
  out[threadIdx.x] = cells[threadIdx.x];
}

__global__ void missing_barrier_kernel(double* out) {
  __shared__ double cells[256];
  const int t = threadIdx.x;
  cells[t] = t;
  out[t] = cells[(t + 1) % blockDim.x];  // no __syncthreads: a bug
}

__global__ void divergent_barrier_kernel() {
  if (threadIdx.x < 16) __syncthreads();
}

__global__ void return_before_barrier_kernel() {
  if (threadIdx.x == 3) return;
  __syncthreads();
}

// Variants: 0 xor 1, 1 xor 16, 2 shfl from lane 5, 3 down 3, 4 up 2, 5 xor 2 width 8,
// 6 shfl lane 3 width 16, 7 down 1 width 4; each thread sends 100 * t + 7.
__global__ void shuffles_kernel(long long* out) {
  const int t = threadIdx.x, n = blockDim.x;
  const long long v = 100LL * t + 7;
  out[0 * n + t] = __shfl_xor_sync(0xffffffffu, v, 1);
  out[1 * n + t] = __shfl_xor_sync(0xffffffffu, v, 16);
  out[2 * n + t] = __shfl_sync(0xffffffffu, v, 5);
  out[3 * n + t] = __shfl_down_sync(0xffffffffu, v, 3);
  out[4 * n + t] = __shfl_up_sync(0xffffffffu, v, 2);
  out[5 * n + t] = __shfl_xor_sync(0xffffffffu, v, 2, 8);
  out[6 * n + t] = __shfl_sync(0xffffffffu, v, 3, 16);
  out[7 * n + t] = __shfl_down_sync(0xffffffffu, v, 1, 4);
}

__global__ void divergent_shuffle_kernel(float* out) {
  float v = float(threadIdx.x);
  if (threadIdx.x % 2 == 0)
    v = __shfl_xor_sync(0xffffffffu, v, 1);
  else
    v = __shfl_down_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}

__global__ void votes_kernel(unsigned* out) {
  const int t = threadIdx.x, n = blockDim.x;
  out[0 * n + t] = __ballot_sync(0xffffffffu, t % 3 == 0);
  out[1 * n + t] = unsigned(__any_sync(0xffffffffu, t == 40));
  out[2 * n + t] = unsigned(__all_sync(0xffffffffu, t < 1000));
  out[3 * n + t] = unsigned(__syncthreads_count(t % 5 == 0));
  out[4 * n + t] = unsigned(__syncthreads_count(t < 7));
}

__global__ void atomics_kernel(unsigned long long* count, double* sum) {
  atomicAdd(count, 1ULL);
  atomicAdd(sum, double(threadIdx.x));
}

__global__ void block_shape_kernel(long long* out) {
  const unsigned linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  out[2 * linear] = threadIdx.x + 1000LL * threadIdx.y + 1000000LL * threadIdx.z;
  out[2 * linear + 1] = __shfl_sync(0xffffffffu, (long long)linear, 0);
}

__global__ void __launch_bounds__(128) bounded_kernel(float* out) { out[threadIdx.x] = 1.0f; }

__global__ void dynamic_shared_kernel(double* out) {
  extern __shared__ __align__(16) unsigned char raw[];
  double* cells = reinterpret_cast<double*>(raw);
  cells[threadIdx.x] = blockIdx.x + 0.5;
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = cells[blockDim.x - 1 - threadIdx.x];
}

__global__ void static_shared_kernel(float* out) {
  __shared__ float big[13 * 1024];  // 52 KiB
  big[threadIdx.x] = 1.0f;
  out[threadIdx.x] = big[threadIdx.x];
}

__global__ void grid_stride_kernel(std::int64_t* out, std::int64_t n) {
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += std::int64_t(blockDim.x) * gridDim.x)
    out[i] = i;
}

}  // namespace

std::string shared_per_block(int blocks, int threads, std::vector<double>& out) {
  out.assign(std::size_t(blocks * threads), -1.0);
  shared_per_block_kernel<<<blocks, threads>>>(out.data());
  return status();
}

std::string shared_unwritten(int threads, std::vector<double>& out) {
  out.assign(std::size_t(threads), -1.0);
  shared_unwritten_kernel<<<1, threads>>>(out.data());
  return status();
}

std::string missing_barrier(int threads, std::vector<double>& out) {
  out.assign(std::size_t(threads), -1.0);
  missing_barrier_kernel<<<1, threads>>>(out.data());
  return status();
}

std::string divergent_barrier(int threads) {
  divergent_barrier_kernel<<<2, threads>>>();
  return status();
}

std::string return_before_barrier(int threads) {
  return_before_barrier_kernel<<<1, threads>>>();
  return status();
}

std::string shuffles(int threads, std::vector<long long>& out) {
  out.assign(std::size_t(8 * threads), -1);
  shuffles_kernel<<<1, threads>>>(out.data());
  return status();
}

std::string divergent_shuffle() {
  std::vector<float> out(32);
  divergent_shuffle_kernel<<<1, 32>>>(out.data());
  return status();
}

std::string votes(int threads, std::vector<unsigned>& out) {
  out.assign(std::size_t(5 * threads), 12345u);
  votes_kernel<<<1, threads>>>(out.data());
  return status();
}

std::string atomics(int blocks, int threads, unsigned long long* count, double* sum) {
  atomics_kernel<<<blocks, threads>>>(count, sum);
  return status();
}

std::string block_shape(unsigned x, unsigned y, unsigned z, std::vector<long long>& out) {
  out.assign(std::size_t(2 * x * y * z), -1);
  block_shape_kernel<<<1, dim3(x, y, z)>>>(out.data());
  return status();
}

std::string too_many_threads() {
  std::vector<float> out(2048);
  bounded_kernel<<<1, 1056>>>(out.data());
  return status();
}

std::string over_launch_bounds() {
  std::vector<float> out(256);
  bounded_kernel<<<1, 256>>>(out.data());
  return status();
}

std::string dynamic_shared(std::size_t bytes, int opt_in, std::vector<double>& out) {
  out.assign(3 * 64, -1.0);
  if (opt_in > 0) {
    const cudaError_t e = cudaFuncSetAttribute(dynamic_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, opt_in);
    if (e != cudaSuccess) return status();
  }
  dynamic_shared_kernel<<<3, 64, bytes>>>(out.data());
  return status();
}

std::string static_shared_over_48k() {
  std::vector<float> out(32);
  static_shared_kernel<<<1, 32>>>(out.data());
  return status();
}

std::string grid_stride(std::int64_t n, std::vector<std::int64_t>& out) {
  out.assign(std::size_t(n), -1);
  const std::int64_t blocks = (n + 127) / 128;
  grid_stride_kernel<<<unsigned(blocks < 65535 ? blocks : 65535), 128>>>(out.data(), n);
  return status();
}

}  // namespace emu_selftest
