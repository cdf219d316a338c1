// Random fills from the Philox stream on CUDA: twins of kernels/cpu/random.cpp. One thread
// per counter (the counter's 2-4 elements), with the element formulas of
// kernels/random_math.h, so element i gets the CPU's value whatever the launch shape.
#include <cstdint>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/philox.h"
#include "kernels/random_math.h"

namespace strata::kernels::cuda {

namespace {

// Calls fill(words, begin, count) for each counter c of a fill of n elements (counter
// first + c, elements begin = c * Per .. begin + count - 1, count <= Per), as the CPU does.
template <int Per, class Fill>
__device__ inline void for_each_counter(std::int64_t n, std::uint64_t key, std::uint64_t first, Fill fill) {
  const std::int64_t counters = (n + Per - 1) / Per;
  for (std::int64_t c = global_index(); c < counters; c += grid_size()) {
    const std::int64_t begin = c * Per;
    fill(philox_at(key, first + std::uint64_t(c)), begin, n - begin < Per ? int(n - begin) : Per);
  }
}

// out: [n]; uniform in [low, low + span), clamped to upper (see uniform_value).
template <class T>
__global__ void uniform_kernel(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first, T low, T span,
                               T upper) {
  for_each_counter<int(uniform_per_counter<T>)>(n, key, first, [&](const Philox4& w, std::int64_t begin, int count) {
    for (int l = 0; l < count; ++l) out[begin + l] = uniform_value(uniform_unit<T>(w, l), low, span, upper);
  });
}

// out: [n]; Normal(mean, std_dev) by Box-Muller in double.
template <class T>
__global__ void normal_kernel(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first, T mean, T std_dev) {
  for_each_counter<int(normal_per_counter<T>)>(n, key, first, [&](const Philox4& w, std::int64_t begin, int count) {
    double z[4];
    standard_normals<T>(w, z);
    for (int l = 0; l < count; ++l) out[begin + l] = normal_value(z[l], mean, std_dev);
  });
}

// out: [n]; integers in [low, low + range).
__global__ void randint_kernel(std::int64_t* out, std::int64_t n, std::uint64_t key, std::uint64_t first,
                               std::int64_t low, std::uint64_t range) {
  for_each_counter<int(randint_per_counter)>(n, key, first, [&](const Philox4& w, std::int64_t begin, int count) {
    for (int l = 0; l < count; ++l) out[begin + l] = randint_value(w, l, low, range);
  });
}

}  // namespace

template <class T>
std::string uniform_fill_cuda(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter, T low, T high,
                              int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  const std::int64_t counters = std::int64_t(counters_for(n, uniform_per_counter<T>));
  // span and upper as the CPU computes them (on the host, in T)
  uniform_kernel<<<blocks_for(counters), kThreads>>>(out, n, key, first_counter, low, T(high - low),
                                                      uniform_upper(low, high));
  return launch_status();
}

template <class T>
std::string normal_fill_cuda(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter, T mean,
                             T std_dev, int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  const std::int64_t counters = std::int64_t(counters_for(n, normal_per_counter<T>));
  normal_kernel<<<blocks_for(counters), kThreads>>>(out, n, key, first_counter, mean, std_dev);
  return launch_status();
}

std::string randint_fill_cuda(std::int64_t* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter,
                              std::int64_t low, std::int64_t high, int device) {
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  const std::int64_t counters = std::int64_t(counters_for(n, randint_per_counter));
  randint_kernel<<<blocks_for(counters), kThreads>>>(out, n, key, first_counter, low,
                                                     std::uint64_t(high) - std::uint64_t(low));
  return launch_status();
}

template std::string uniform_fill_cuda<float>(float*, std::int64_t, std::uint64_t, std::uint64_t, float, float, int);
template std::string uniform_fill_cuda<double>(double*, std::int64_t, std::uint64_t, std::uint64_t, double, double,
                                               int);
template std::string normal_fill_cuda<float>(float*, std::int64_t, std::uint64_t, std::uint64_t, float, float, int);
template std::string normal_fill_cuda<double>(double*, std::int64_t, std::uint64_t, std::uint64_t, double, double,
                                              int);

}  // namespace strata::kernels::cuda
