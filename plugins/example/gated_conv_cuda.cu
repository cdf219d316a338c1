// CUDA kernels of the gated short convolution (gated_conv_kernels.h), twins of
// gated_conv_cpu.cpp. A plugin's kernels are plain CUDA: they take device pointers from the
// tensors strata hands the registered kernel, launch on the legacy default stream (where
// strata's own kernels run, so they are ordered with them) and return the error's text.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "gated_conv_kernels.h"

namespace example_plugin {

namespace {

constexpr int kThreads = 256;  // threads of the elementwise kernels
constexpr int kLanes = 32;     // channels a parameter-gradient block covers (x)
constexpr int kRowLanes = 16;  // rows (b, t) a parameter-gradient block walks at once (y)

// Blocks for a grid-stride loop over n items (capped: each thread then takes several).
unsigned blocks_for(std::int64_t n) {
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  return unsigned(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

std::string status(cudaError_t e) { return e == cudaSuccess ? std::string() : cudaGetErrorString(e); }

__device__ std::int64_t global_index() { return std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ std::int64_t grid_size() { return std::int64_t(blockDim.x) * gridDim.x; }

template <class T>
__device__ T sigmoid(T v) {
  return T(1) / (T(1) + exp(-v));
}

// c[b, t, e] for output element i = (b * T + t) * E + e
template <class T>
__device__ T conv_at(const GatedConvArgs<T>& a, std::int64_t i) {
  const std::int64_t E = a.channels, K = a.kernel_size, P = a.seq_len + K - 1;
  const std::int64_t e = i % E, row = i / E, b = row / a.seq_len, t = row % a.seq_len;
  const T* x = a.padded + (b * P + t) * E + e;
  T c = a.bias[e];
  for (std::int64_t j = 0; j < K; ++j) c += a.weight[e * K + j] * x[j * E];
  return c;
}

// y: [B, T, E], one output per thread of a grid-stride loop.
template <class T>
__global__ void gated_conv_fwd_kernel(const GatedConvArgs<T> a) {
  const std::int64_t n = a.batch * a.seq_len * a.channels;
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    const T c = conv_at(a, i);
    if (!a.gate) {
      a.y[i] = c;
      continue;
    }
    const T g = a.gate[i];
    a.y[i] = c * g * sigmoid(g);
  }
}

// Gated backward, per output: dconv = dy * silu(g) (the workspace), dgate = dy * c * silu'(g).
template <class T>
__global__ void gated_conv_bwd_gate_kernel(const GatedConvArgs<T> a) {
  const std::int64_t n = a.batch * a.seq_len * a.channels;
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    const T g = a.gate[i], dy = a.dy[i], s = sigmoid(g);
    a.dconv[i] = dy * g * s;
    a.dgate[i] = dy * conv_at(a, i) * s * (T(1) + g * (T(1) - s));  // silu'(g) = s (1 + g (1 - s))
  }
}

// dpadded[b, p, e] = sum over taps j of w[e, j] * dconv[b, p - j, e], for the outputs
// t = p - j in [0, T) that read padded row p. One padded element per thread: no atomics.
template <class T>
__global__ void gated_conv_bwd_input_kernel(const GatedConvArgs<T> a, const T* dconv) {
  const std::int64_t E = a.channels, K = a.kernel_size, T_ = a.seq_len, P = T_ + K - 1;
  const std::int64_t n = a.batch * P * E;
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    const std::int64_t e = i % E, row = i / E, b = row / P, p = row % P;
    const std::int64_t j0 = p - T_ + 1 > 0 ? p - T_ + 1 : 0, j1 = p < K - 1 ? p : K - 1;
    T acc = T(0);
    for (std::int64_t j = j0; j <= j1; ++j) acc += a.weight[e * K + j] * dconv[(b * T_ + p - j) * E + e];
    a.dpadded[i] = acc;
  }
}

// dweight[e, j] = sum_{b, t} padded[b, t + j, e] * dconv[b, t, e]; dbias[e] = sum dconv.
// Block (kLanes, kRowLanes): lane x owns channel tile * kLanes + x, lane y the rows y,
// y + kRowLanes, ...; the partial sums are then added in lane order (a fixed order, so
// results repeat bit for bit). blockIdx.y is the tap j, or K for dbias.
template <class T>
__global__ void gated_conv_bwd_params_kernel(const GatedConvArgs<T> a, const T* dconv) {
  __shared__ T partial[kRowLanes][kLanes];
  const std::int64_t E = a.channels, K = a.kernel_size, T_ = a.seq_len, P = T_ + K - 1;
  const std::int64_t rows = a.batch * T_, tiles = (E + kLanes - 1) / kLanes;
  for (std::int64_t j = blockIdx.y; j <= K; j += gridDim.y) {
    for (std::int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      const std::int64_t e = tile * kLanes + threadIdx.x;
      T acc = T(0);
      if (e < E)
        for (std::int64_t r = threadIdx.y; r < rows; r += kRowLanes) {
          const T g = dconv[r * E + e];
          if (j == K) {
            acc += g;
          } else {
            const std::int64_t b = r / T_, t = r % T_;
            acc += g * a.padded[(b * P + t + j) * E + e];
          }
        }
      partial[threadIdx.y][threadIdx.x] = acc;
      __syncthreads();
      if (threadIdx.y == 0 && e < E) {
        T sum = T(0);
        for (int y = 0; y < kRowLanes; ++y) sum += partial[y][threadIdx.x];
        if (j == K)
          a.dbias[e] = sum;
        else
          a.dweight[e * K + j] = sum;
      }
      __syncthreads();  // partial is rewritten by the next tile
    }
  }
}

}  // namespace

template <class T>
std::string gated_conv_fwd_cuda(const GatedConvArgs<T>& a, int device) {
  const std::int64_t n = a.batch * a.seq_len * a.channels;
  if (n == 0) return {};
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return status(e);
  gated_conv_fwd_kernel<T><<<blocks_for(n), kThreads>>>(a);
  return status(cudaGetLastError());
}

template <class T>
std::string gated_conv_bwd_cuda(const GatedConvArgs<T>& a, int device) {
  const std::int64_t E = a.channels, K = a.kernel_size;
  const std::int64_t outputs = a.batch * a.seq_len * E, inputs = a.batch * (a.seq_len + K - 1) * E;
  if (inputs == 0 && E == 0) return {};
  if (a.gate && !a.dconv) return "gated_conv_bwd_cuda: a gated backward needs the dconv workspace";
  if (cudaError_t e = cudaSetDevice(device); e != cudaSuccess) return status(e);
  if (a.gate && outputs > 0) gated_conv_bwd_gate_kernel<T><<<blocks_for(outputs), kThreads>>>(a);
  const T* dconv = a.gate ? a.dconv : a.dy;  // without a gate, dL/dc is dy itself
  if (inputs > 0) gated_conv_bwd_input_kernel<T><<<blocks_for(inputs), kThreads>>>(a, dconv);
  if (E > 0) {
    const std::int64_t tiles = (E + kLanes - 1) / kLanes;
    const dim3 grid(unsigned(tiles < 65535 ? tiles : 65535), unsigned(K + 1 < 65535 ? K + 1 : 65535));
    gated_conv_bwd_params_kernel<T><<<grid, dim3(kLanes, kRowLanes)>>>(a, dconv);
  }
  return status(cudaGetLastError());
}

template std::string gated_conv_fwd_cuda<float>(const GatedConvArgs<float>&, int);
template std::string gated_conv_fwd_cuda<double>(const GatedConvArgs<double>&, int);
template std::string gated_conv_bwd_cuda<float>(const GatedConvArgs<float>&, int);
template std::string gated_conv_bwd_cuda<double>(const GatedConvArgs<double>&, int);

}  // namespace example_plugin
